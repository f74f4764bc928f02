"""`labjournal preview`: build once, serve `_site/` on 127.0.0.1 and rebuild on every save.

- What is watched is what the journal's records name (labjournal.build.inputs): the plan, each
  run's notebook, modules, `deps:` and the files it read, the datasets, and the render's sources;
  never the outputs, `results/` or a virtual environment.
- A change that only a render reads (`report/`, `templates/`, `_quarto.yml`) renders the journal
  again in this process (Jinja, a fraction of a second) and rebuilds with pandoc only the pages
  whose rendered text changed; open pages reload.
- A change to anything a run read (the plan, a notebook wherever it lies, a helper module, a
  config file, data) runs the plan first, as `labjournal report` does (until the claims are
  decided, for a profile with `decide:`); the cache decides what executes. The watch list is
  then made again.
- An error (a misspelt metric, broken YAML, a failing notebook) is printed here and shown on the
  open pages; the last good build stays served.
- The PDF (and the search index) is rebuilt in a background thread after a build, never making
  the page wait.

Pages are told to reload over Server-Sent Events (`/__labjournal/events`); a small script that
listens is added to every HTML page as it is served (the files on disk stay as published).
"""

from __future__ import annotations

import errno
import functools
import http.server
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from labjournal.build.builtin import index_for_search, rebuild_pages
from labjournal.build.inputs import WatchList, watch_list
from labjournal.build.outputs import build_outputs
from labjournal.errors import LabjournalError, PortUnavailableError
from labjournal.project import Project
from labjournal.render.journal import render_journal

EVENTS = "/__labjournal/events"
LISTENER = f"""<script>
(function () {{
  var source = new EventSource("{EVENTS}");
  source.onmessage = function (event) {{
    var data = JSON.parse(event.data);
    if (data.reload) {{ location.reload(); return; }}
    var box = document.getElementById("labjournal-error");
    if (!box) {{
      box = document.createElement("pre");
      box.id = "labjournal-error";
      box.style.cssText = "position:fixed;left:0;right:0;bottom:0;margin:0;padding:1em;z-index:99;" +
        "background:#fdecea;color:#611a15;border-top:3px solid #c62828;white-space:pre-wrap;font-size:13px";
      document.body.appendChild(box);
    }}
    box.textContent = "labjournal preview: the last save did not build (this page is the last good build)\\n\\n" + data.error;
  }};
}})();
</script>"""


class Broadcast:
    """The open pages, each waiting for the next message."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        with self.condition:
            self.messages.append(message)
            self.condition.notify_all()

    def wait(self, seen: int, timeout: float = 15.0) -> tuple[int, list[dict[str, Any]]]:
        with self.condition:
            self.condition.wait_for(lambda: len(self.messages) > seen, timeout=timeout)
            return len(self.messages), self.messages[seen:]


class PreviewHandler(http.server.SimpleHTTPRequestHandler):
    broadcast: Broadcast

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:
        if self.path == EVENTS:
            return self._events()
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix == ".html" and path.exists():
            body = path.read_bytes().replace(b"</body>", LISTENER.encode() + b"</body>", 1)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
            return None
        return super().do_GET()

    def _events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seen = len(self.broadcast.messages)
        try:
            while True:
                seen, messages = self.broadcast.wait(seen)
                for message in messages or [{"ping": True}]:
                    self.wfile.write(f"data: {json.dumps(message)}\n\n".encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return


class Previewer:
    """`run` runs the plan as `labjournal run` and `report` do (labjournal.commands.run)."""

    def __init__(self, project: Project, console: Console, run: Callable[[], object]) -> None:
        self.project = project
        self.console = console
        self.run = run
        self.broadcast = Broadcast()
        self.rendered: dict[str, str] = {}
        self.background: threading.Thread | None = None

    def _pages(self) -> dict[str, str]:
        build = self.project.build_dir
        return {page.source: (build / page.source).read_text() for page in self.project.site_config().pages}

    def full(self, run: bool = True) -> None:
        if run:
            self.run()
        render_journal(self.project)
        build_outputs(self.project, engine="pandoc", only="site", console=Console(quiet=True))
        self.rendered = self._pages()
        self._in_background(search=False)

    def prose(self) -> float:
        """Render again and rebuild only the pages whose rendered text changed; seconds taken."""
        started = time.perf_counter()
        render_journal(self.project)
        pages = self._pages()
        changed = {source for source, text in pages.items() if self.rendered.get(source) != text}
        if changed:
            rebuild_pages(self.project, changed)
        self.rendered = pages
        self._in_background(search=True)
        return time.perf_counter() - started

    def _in_background(self, search: bool) -> None:
        """The PDF (and the search index) after the page is back, in a thread of its own."""

        def work() -> None:
            try:
                if search:
                    index_for_search(
                        self.project.site_dir, [p.html for p in self.project.site_config().pages]
                    )
                build_outputs(self.project, engine="pandoc", only="pdf", console=Console(quiet=True))
            except LabjournalError as exc:
                self.console.print(f"[yellow]PDF not rebuilt:[/] {escape(str(exc))}")

        if self.background is None or not self.background.is_alive():
            self.background = threading.Thread(target=work, daemon=True)
            self.background.start()

    def on_change(self, paths: set[Path], watched: WatchList) -> bool:
        """Rebuild after a save: everything (runs included) when a run's input changed, else
        the render and the pages whose text changed. True when the journal's inputs may have
        changed (a full rebuild): the watch list is then made again."""
        full = watched.needs_run(paths)
        try:
            if full:
                self.full(run=True)
                took = None
            else:
                took = self.prose()
        except LabjournalError as exc:
            self.console.print(f"[bold red]error:[/] {escape(str(exc))}")
            self.broadcast.send({"error": str(exc)})
            return full
        self.broadcast.send({"reload": True})
        self.console.print("rebuilt" + (f" in {took:.2f} s" if took is not None else ""))
        return full


def listen(port: int, site: Path, broadcast: Broadcast) -> http.server.ThreadingHTTPServer:
    """The preview's server, bound to 127.0.0.1:`port` (0: any free port) but not serving yet."""
    handler = type("Handler", (PreviewHandler,), {"broadcast": broadcast})
    try:
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", port), functools.partial(handler, directory=str(site))
        )
    except OSError as exc:
        problem = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
        raise PortUnavailableError(
            f"port {port} on 127.0.0.1 {problem}; nothing was built. Pass another with --port "
            "(--port 0 takes any free one)"
        ) from exc
    server.daemon_threads = True
    return server


def serve_and_watch(project: Project, console: Console, run: Callable[[], object], port: int = 8000) -> None:
    """Build once (running the plan with `run`), serve, and rebuild on every save."""

    previewer = Previewer(project, console, run)
    server = listen(port, project.site_dir, previewer.broadcast)  # first: a busy port before a build
    try:
        previewer.full(run=True)
    except LabjournalError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        if not (project.site_dir / "index.html").exists():
            server.server_close()
            raise
    threading.Thread(target=server.serve_forever, daemon=True).start()
    console.print(
        f"Preview at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops); watching for saves"
    )
    try:
        while True:  # the watch list is what the journal's records name (labjournal.build.inputs)
            _watch(previewer, watch_list(project))
    finally:
        server.shutdown()


def _watch(previewer: Previewer, watched: WatchList) -> None:
    """Rebuild on each save of an input. After a full rebuild the watch list is made again; while
    its folders stay the same the same watcher goes on, so a save made during the rebuild is seen
    next; otherwise this returns and the caller watches the new folders."""
    import watchfiles

    folders = [folder for folder in watched.folders if folder.is_dir()]
    current = {"list": watched}
    accept = lambda _change, path: current["list"].counts(Path(path))  # noqa: E731
    for changes in watchfiles.watch(*folders, watch_filter=accept, debounce=50, step=20, recursive=False):
        if previewer.on_change({Path(path) for _, path in changes}, current["list"]):
            current["list"] = watch_list(previewer.project)
            if [f for f in current["list"].folders if f.is_dir()] != folders:
                return
