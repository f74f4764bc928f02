"""`labjournal preview` in a real browser: a saved sentence shows on the open page within two
seconds; a broken edit shows its error on the page and the page recovers with the fix."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture()
def preview(demo_project: Path):
    process = subprocess.Popen(
        [sys.executable, "-m", "labjournal.cli", "preview", "--port", "0", "--profile", "quick"],
        cwd=demo_project,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    address = None
    deadline = time.monotonic() + 120
    while address is None and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line and process.poll() is not None:
            break
        match = re.search(r"Preview at (http://127\.0\.0\.1:\d+)/", line)
        address = match.group(1) if match else None
    assert address, "the preview did not start"
    yield demo_project, address, process
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.slow
def test_a_saved_sentence_shows_up_and_a_broken_edit_shows_its_error(preview, browser) -> None:
    project, address, _ = preview
    page = browser.new_page()
    page.goto(f"{address}/demo.html")
    assert "The square at x = 2 is 4.00" in page.inner_text("main")
    source = project / "report" / "demo.qmd"
    original = source.read_text()

    saved = time.monotonic()
    source.write_text(original + "\nThe axolotl regrows its limbs.\n")
    page.wait_for_function(
        "document.body.innerText.includes('The axolotl regrows its limbs.')", timeout=2_000
    )
    print(f"\nsave to screen: {time.monotonic() - saved:.2f} s")

    source.write_text(original + "\n{{ metric('demo/squares', 'cube', x=1.0) }}\n")
    page.wait_for_selector("#labjournal-error", timeout=5_000)
    error = page.inner_text("#labjournal-error")
    assert "no metric 'cube'" in error and "demo.qmd" in error
    assert "The axolotl regrows its limbs." in page.inner_text("main")  # the last good build stays

    source.write_text(original + "\nFixed again.\n")
    page.wait_for_function("document.body.innerText.includes('Fixed again.')", timeout=5_000)
    assert page.locator("#labjournal-error").count() == 0
    page.close()


def test_a_port_in_use_is_refused_before_anything_is_built(demo_project: Path, monkeypatch, capsys) -> None:
    import socket

    from labjournal.authoring.preview import Previewer
    from labjournal.cli import main

    monkeypatch.setattr(
        Previewer, "full", lambda *_args, **_kw: pytest.fail("built before the port was checked")
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--project", str(demo_project), "preview", "--port", str(port), "--profile", "quick"])
    output = capsys.readouterr().err
    assert code == 2, output
    assert f"port {port} on 127.0.0.1 is already in use; nothing was built" in output
    assert "--port" in output and "Traceback" not in output
    assert not (demo_project / "results").exists() and not (demo_project / "_site").exists()
