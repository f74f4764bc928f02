"""The Jupyter kernel the notebooks run in: always this environment's own Python.

A kernelspec named `labjournal` is written into this environment (as `ipykernel install
--sys-prefix` would), pointing at `sys.executable`, so a notebook never runs in whatever `python3`
kernel happens to be registered for the user. Kernels talk over IPC sockets in a private temporary
folder rather than TCP ports, so parallel workers cannot race for ports (papermill #239, #511).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import default

KERNEL_NAME = "labjournal"


def kernelspec_dir() -> Path:
    return Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME


def ensure_kernelspec() -> str:
    """Register (or repair) the project's kernelspec; return its name."""
    spec = {
        # no IPython history database: a warm kernel restarts its execution count for every run,
        # so the same (session, line) came again and IPython printed an error into the run's
        # notebook ("Session/line number was not unique in database"); nor does a run belong in
        # the user's own history
        "argv": [
            sys.executable,
            "-m",
            "ipykernel_launcher",
            "--HistoryManager.enabled=False",
            "-f",
            "{connection_file}",
        ],
        "display_name": "Python (labjournal)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    target = kernelspec_dir() / "kernel.json"
    try:
        current = json.loads(target.read_text()) if target.exists() else None
    except (OSError, json.JSONDecodeError):
        current = None
    if current != spec:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(spec, indent=1))
    return KERNEL_NAME


class IpcKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels listen on Unix sockets in a private folder."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        return os.path.join(tempfile.mkdtemp(prefix="labjournal-kernel-"), "kernel")
