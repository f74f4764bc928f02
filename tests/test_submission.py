"""What you submit is what you built: profiles never stand in for each other, a failed or stale
render is never built or published, published files are readable and carry no machine paths,
PDF links work where the PDF goes, listings go to stdout, Ctrl-C stops promptly, errors name the
place, and a report with nothing changed does nothing."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import SQUARE_CELL, ctrl_c_as_in_a_terminal, write_notebook
from pypdf import PdfReader

from labjournal.cli import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _cli(project: Path, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["--project", str(project), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _report(project: Path, capsys, *args: str) -> tuple[int, str]:
    code, out, err = _cli(project, capsys, "report", "--engine", "pandoc", "--jobs", "1", *args)
    return code, out + err


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def test_the_quick_profile_never_replaces_the_journal(demo_project: Path, capsys) -> None:
    code, output = _report(demo_project, capsys)
    assert code == 0, output
    journal = demo_project / "_site"
    before = {p: p.read_bytes() for p in (journal / "demo.html", journal / "journal.pdf")}
    code, output = _report(demo_project, capsys, "--profile", "quick")
    assert code == 0, output
    assert {p: p.read_bytes() for p in before} == before  # the journal to submit is untouched
    quick = demo_project / "_site-quick"
    assert "Not the journal to submit" in (quick / "demo.html").read_text()
    quick_pdf = " ".join(_pdf_text(quick / "journal.pdf").split())
    assert "Built from the quick profile (1 seed per grid point)" in quick_pdf
    assert "Not the journal to submit" not in (journal / "demo.html").read_text()
    assert (demo_project / "results" / "index.quick.json").exists()
    code, _, err = _cli(
        demo_project, capsys, "publish", str(demo_project.parent / "out"), "--profile", "quick"
    )
    assert code == 2 and "not the journal" in err and "--not-the-journal" in err


def test_a_failed_render_is_never_built_or_published(demo_project: Path, capsys) -> None:
    code, output = _report(demo_project, capsys)
    assert code == 0, output
    page = demo_project / "report" / "demo.qmd"
    page.write_text(page.read_text() + '\n{{ metric("demo/squares", "cube", x=2.0) }}\n')
    assert _cli(demo_project, capsys, "render")[0] == 2
    code, _, err = _cli(demo_project, capsys, "build", "--engine", "pandoc")
    assert code == 2 and "the last render failed" in err and "no metric 'cube'" in err
    code, _, err = _cli(demo_project, capsys, "publish", str(demo_project.parent / "out"))
    assert code == 2 and "the last render failed" in err
    # A source edited after a good render: build names it.
    page.write_text(page.read_text().replace('{{ metric("demo/squares", "cube", x=2.0) }}', ""))
    assert _cli(demo_project, capsys, "render")[0] == 0
    page.write_text(page.read_text() + "\nOne more sentence.\n")
    code, _, err = _cli(demo_project, capsys, "build", "--engine", "pandoc")
    assert code == 2 and "report/demo.qmd changed since the last render" in err


def test_a_failed_grid_point_becomes_notes_and_the_exit_code_says_so(demo_project: Path, capsys) -> None:
    cell = SQUARE_CELL + "\nif x == 3.0:\n    raise ValueError('no cubes today')\n"
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", cell)
    claims = demo_project / "report" / "claims.yml"
    claims.write_text(
        "claims:\n  bigger:\n    lab: demo\n    sentence: Bigger x, bigger square.\n    expect:\n"
        "      greater: {ref: demo/squares, metric: square, margin: 0.5, at: {x: 3.0}, than: {x: 1.0}}\n"
    )
    page = demo_project / "report" / "demo.qmd"
    page.write_text(
        page.read_text()
        + '\nAt three: {{ metric("demo/squares", "square", x=3.0) }}. {{ claim("bigger") }}\n'
    )
    code, output = _report(demo_project, capsys)
    assert code == 1, output
    html = (demo_project / "_site" / "demo.html").read_text()
    assert "failed: see results/failed/demo/square/" in html  # the value that needs the failed runs
    assert "not-run" in html and "its runs failed" in (demo_project / "_build" / "demo.qmd").read_text()
    code, _, err = _cli(demo_project, capsys, "publish", str(demo_project.parent / "out"))
    assert code == 2 and "notes where runs failed" in err


def test_published_files_are_public_and_name_no_path_of_this_machine(demo_project: Path, capsys) -> None:
    assert _report(demo_project, capsys)[0] == 0
    web_root = Path(tempfile.mkdtemp(prefix="labjournal-public-"))  # a folder another user may enter
    web_root.chmod(0o755)
    target = web_root / "public"
    old = os.umask(0o077)
    try:
        assert _cli(demo_project, capsys, "publish", str(target))[0] == 0
    finally:
        os.umask(old)
    for path in [target, *target.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), path
    if os.geteuid() == 0:  # read every file as another user, as a web server would
        nobody = subprocess.run(
            ["find", str(target), "-type", "f", "-exec", "cat", "{}", "+"],
            user=65534,
            group=65534,
            cwd="/",
            capture_output=True,
        )
        assert nobody.returncode == 0 and len(nobody.stdout) > 10_000, nobody.stderr
    runs = sorted((target / "runs").glob("*.html"))
    assert runs
    for path in target.rglob("*"):
        if path.suffix in (".html", ".json", ".js", ".css", ".txt"):
            assert str(demo_project) not in path.read_text(errors="replace"), path
    assert "<title>demo/square · x = 1.0 seed 0</title>" in "".join(p.read_text() for p in runs)


def test_pdf_links_point_at_the_published_site(demo_project: Path, capsys) -> None:
    quarto = demo_project / "_quarto.yml"
    assert _report(demo_project, capsys)[0] == 0
    pdf = demo_project / "_site" / "journal.pdf"
    assert "Where the evidence lives" in _pdf_text(pdf)
    links = _uris(pdf)
    assert not any(uri.startswith("runs/") for uri in links)  # no link that points nowhere
    quarto.write_text(
        quarto.read_text().replace(
            '  title: "Demo journal"', '  title: "Demo journal"\n  site-url: https://ann.github.io/demo'
        )
    )
    assert _report(demo_project, capsys)[0] == 0
    links = _uris(pdf)
    runs = [uri for uri in links if "/runs/" in uri]
    assert runs and all(uri.startswith("https://ann.github.io/demo/runs/") for uri in runs)


def _uris(pdf: Path) -> list[str]:
    found = []
    for page in PdfReader(str(pdf)).pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A") or {}
            if "/URI" in action:
                found.append(str(action["/URI"]))
    return found


def test_listings_go_to_stdout_and_errors_name_the_place(demo_project: Path, capsys) -> None:
    code, out, _ = _cli(demo_project, capsys, "plan", "--profile", "quick")
    assert code == 0 and "demo/squares x=1.0" in out and "What each notebook's cache key covers" in out
    code, _, err = _cli(demo_project, capsys, "check")
    assert code == 2 and "no results of the 'default' profile" in err and "labjournal run" in err
    plan = demo_project / "journal.yml"
    plan.write_text(plan.read_text().replace("grid: {x: [1.0, 2.0, 3.0]}", "gird: {x: [1.0, 2.0, 3.0]}"))
    code, _, err = _cli(demo_project, capsys, "plan")
    assert (
        code == 2
        and "gird: unknown key: did you mean 'grid'?" in err
        and "allowed here: description, grid" in err
    )


def test_a_claim_naming_a_missing_metric_is_reported_at_its_line(demo_project: Path, capsys) -> None:
    assert _cli(demo_project, capsys, "run", "--jobs", "1")[0] == 0
    (demo_project / "report" / "claims.yml").write_text(
        "# claims\nclaims:\n  bigger:\n    lab: demo\n    sentence: s\n    expect:\n"
        "      greater: {ref: demo/squares, metric: sqaure, margin: 0.5, at: {x: 3.0}, than: {x: 1.0}}\n"
    )
    code, _, err = _cli(demo_project, capsys, "check")
    assert code == 2 and "report/claims.yml:3: claim 'bigger'" in err and "no metric 'sqaure'" in err


def test_a_report_with_nothing_changed_does_nothing(demo_project: Path, capsys) -> None:
    assert _report(demo_project, capsys)[0] == 0
    record = demo_project / ".labjournal" / "render.json"
    site = demo_project / "_site" / "demo.html"
    stamps = (
        record.stat().st_mtime_ns,
        site.stat().st_ino,
        (demo_project / "results" / "index.json").stat().st_mtime_ns,
    )
    code, output = _report(demo_project, capsys)
    assert code == 0 and "Nothing changed since the last report" in output
    assert (
        record.stat().st_mtime_ns,
        site.stat().st_ino,
        (demo_project / "results" / "index.json").stat().st_mtime_ns,
    ) == stamps
    page = demo_project / "report" / "demo.qmd"
    page.write_text(page.read_text() + "\nAn edit.\n")
    index = demo_project / "_site" / "index.html"
    untouched = (index.stat().st_ino, index.read_bytes())
    code, output = _report(demo_project, capsys)
    assert code == 0 and "Nothing changed" not in output and "An edit." in site.read_text()
    assert "Prose only: rebuilding 1 page(s)" in output  # as preview does: only the page that changed
    assert (index.stat().st_ino, index.read_bytes()) == untouched
    assert "An edit." in _pdf_text(demo_project / "_site" / "journal.pdf")
    assert _cli(demo_project, capsys, "publish", str(demo_project.parent / "out"))[0] == 0  # built from it


def test_ctrl_c_during_a_run_stops_without_waiting_for_its_notebooks(demo_project: Path) -> None:
    """Ctrl-C while both notebooks execute: the command exits with one message, neither notebook
    runs on to its end (each waits for a brake file, which stays), and the store keeps no partial
    run. The time limits are guards against a hang, never what is tested."""
    marks, brake = demo_project / "marks", demo_project / "brake"
    marks.mkdir()
    brake.write_text("")
    waits = (
        f"import os, time\nopen(os.path.join({str(marks)!r}, f'started-{{x}}-{{seed}}'), 'w').close()\n"
        f"deadline = time.time() + 300\nwhile os.path.exists({str(brake)!r}) and time.time() < deadline:\n"
        f"    time.sleep(0.05)\nopen(os.path.join({str(marks)!r}, f'finished-{{x}}-{{seed}}'), 'w').close()\n"
    )
    write_notebook(demo_project / "notebooks" / "square.ipynb", "x = 1.0\nseed = 0", waits, SQUARE_CELL)
    process = subprocess.Popen(
        [sys.executable, "-m", "labjournal.cli", "--project", str(demo_project), "run", "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=ctrl_c_as_in_a_terminal,
    )
    try:
        deadline = time.monotonic() + 120  # a guard: both notebooks start long before
        while len(list(marks.glob("started-*"))) < 2:
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
            time.sleep(0.05)
        sent = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        output, _ = process.communicate(timeout=120)  # a guard: the notebooks would wait 300 s
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        brake.unlink()  # a kernel left behind, if any, ends now
    assert process.returncode == 130, output
    assert "Traceback" not in output, output
    interrupted = [line for line in output.splitlines() if "interrupted" in line]
    assert len(interrupted) == 1 and "interrupted: stopping 2 running notebook(s)" in interrupted[0], output
    assert not list(marks.glob("finished-*"))  # stopped, not waited for (the brake was held)
    results = demo_project / "results"
    assert not list(results.rglob("run.json"))  # no run was half-committed
    staging = results / ".staging"
    assert not staging.exists() or not any(staging.iterdir())
    print(f"\nCtrl-C to exit: {took:.2f} s")
