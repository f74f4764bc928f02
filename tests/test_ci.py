"""Under CI no skip may hide a test: only the Quarto test (Quarto cannot be installed offline) may
skip, and the summary says so; any other skip fails the run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _pytest(folder: Path, ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_an_unexpected_skip_fails_under_ci_and_the_quarto_skip_is_announced(tmp_path: Path) -> None:
    shutil.copy2(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_demo.py").write_text(
        "import pytest\n\n"
        "def test_ok():\n    assert 1 + 1 == 2\n\n"
        "@pytest.mark.skip(reason='quarto is not on PATH: cannot be installed here')\n"
        "def test_quarto():\n    pass\n"
    )
    allowed = _pytest(tmp_path, ci=True)
    assert allowed.returncode == 0, allowed.stdout
    assert "skipped by design: 1 Quarto test(s)" in allowed.stdout
    (tmp_path / "test_hidden.py").write_text(
        "import pytest\n\ndef test_browser():\n    pytest.skip('chromium is not installed')\n"
    )
    hidden = _pytest(tmp_path, ci=True)
    assert hidden.returncode == 1, hidden.stdout
    assert (
        "CI does not accept this skip: test_hidden.py::test_browser: chromium is not installed"
        in hidden.stdout
    )
    assert _pytest(tmp_path, ci=False).returncode == 0  # on a developer's machine a skip is a skip
