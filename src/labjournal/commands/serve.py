"""`labjournal serve`: the built site on http://127.0.0.1:PORT/."""

from __future__ import annotations

import functools
import http.server

from rich.console import Console

from labjournal.commands.options import ServeOptions
from labjournal.errors import LabjournalError
from labjournal.project import Project


def main(project: Project, options: ServeOptions, console: Console) -> None:
    site = project.site_dir
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", options.port), handler)
    except OSError as exc:  # the port is taken, or not ours to use
        raise LabjournalError(
            f"cannot serve on 127.0.0.1:{options.port}: {exc.strerror or exc} (try --port 0 for a free port)"
        ) from None
    with server:
        port = server.server_address[1]
        console.print(f"Serving {site} at http://127.0.0.1:{port}/ (Ctrl-C stops)")
        server.serve_forever()
