"""Inside the kernel: what one run actually read, recorded while it executes.

The engine calls `begin()` before a run's first cell and `finish(path)` after its last, in the
run's own kernel (a warm kernel records each run apart). Between the two, an audit hook
(`sys.addaudithook`, installed once per kernel) notes every file opened for reading and every
folder the notebook's code listed (`open`, `os.listdir`, `os.scandir`); what the import system
opens and lists while it searches `sys.path` is left out (the modules it found are recorded
instead). `finish` adds the modules loaded that live outside the standard library and the
installed distributions (the project's, `pythonpath`'s, editable installs', namespace packages'),
and the distributions imported with their versions, and writes it all as JSON for the engine
(labjournal.run.reads), which keeps what lies in the project and fingerprints it.

Standard library only: this module is imported into every kernel before anything else, so that
the modules the kernel itself had loaded (ipykernel, IPython, zmq) are not counted as the run's.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig

_BASELINE = frozenset(sys.modules)  # the kernel's own modules, loaded before any run
_LIBRARY_ROOTS = tuple(
    sorted(
        {os.path.realpath(p) + os.sep for p in sysconfig.get_paths().values() if p}
        | {os.path.realpath(sys.prefix) + os.sep, os.path.realpath(sys.base_prefix) + os.sep},
        key=len,
        reverse=True,
    )
)
_SITE = tuple(os.path.realpath(sysconfig.get_paths()[name]) + os.sep for name in ("purelib", "platlib"))
_WATCHED = frozenset({"open", "os.listdir", "os.scandir"})
_WRITE_MODES = frozenset("wax")


class _Log:
    active = False
    installed = False
    read: dict[str, None] = {}  # ordered sets
    listed: dict[str, None] = {}
    written: set[str] = set()


def _from_import_system() -> bool:
    """True when the event comes from importlib searching `sys.path` (two frames up: the hook,
    then the caller of `open`/`listdir`)."""
    frame = sys._getframe(2)
    return frame.f_code.co_filename.startswith("<frozen importlib")


def _absolute(path: object) -> str | None:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        return None  # a file descriptor
    return os.path.abspath(os.fspath(path))


def _is_write(mode: object, flags: object) -> bool:
    if isinstance(mode, str):
        return bool(_WRITE_MODES & set(mode)) and "+" not in mode
    if isinstance(flags, int):
        return flags & os.O_ACCMODE == os.O_WRONLY
    return False


def _hook(event: str, args: tuple) -> None:
    if not _Log.active or event not in _WATCHED:
        return
    try:
        if _from_import_system():
            return
        path = _absolute(args[0] if args else None)
        if path is None or path.startswith(_LIBRARY_ROOTS):
            return
        if event != "open":
            _Log.listed.setdefault(path, None)
        elif _is_write(args[1] if len(args) > 1 else None, args[2] if len(args) > 2 else None):
            _Log.written.add(path)
        elif path not in _Log.written:  # a file the run wrote itself and reads back is no input
            _Log.read.setdefault(path, None)
    except Exception:  # recording must never break the user's code
        pass


def begin() -> None:
    """Start recording a run (installs the hook the first time)."""
    if not _Log.installed:
        sys.addaudithook(_hook)
        _Log.installed = True
    _Log.read, _Log.listed, _Log.written = {}, {}, set()
    _Log.active = True


def _module_files() -> dict[str, str]:
    """Modules loaded outside the standard library and the installed distributions, by name."""
    found = {}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or name in _BASELINE or name.split(".")[0] == "labjournal":
            continue  # the kit is in the key by content (labjournal.run.cache)
        path = os.path.realpath(file)
        if not path.startswith(_LIBRARY_ROOTS) and os.path.isfile(path):
            found[name] = path
    return found


_DISTRIBUTIONS: dict[str, list[str]] = {}


def _distributions() -> dict[str, str]:
    """The installed distributions of the top-level modules loaded, with their versions."""
    from importlib import metadata

    if not _DISTRIBUTIONS:
        _DISTRIBUTIONS.update(metadata.packages_distributions())
    tops = {name.split(".")[0] for name in sys.modules if name not in _BASELINE}
    tops -= set(sys.stdlib_module_names) | {"labjournal", "__main__"}
    versions = {}
    for top in sorted(tops):
        for dist in _DISTRIBUTIONS.get(top, []):
            try:
                versions[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
    return versions


def finish(path: str) -> None:
    """Stop recording and write what the run read to `path`."""
    _Log.active = False
    listed = {folder: sorted(os.listdir(folder)) for folder in _Log.listed if os.path.isdir(folder)}
    payload = {
        "files": [p for p in _Log.read if p not in _Log.written],
        "listings": listed,
        "modules": _module_files(),
        "distributions": _distributions(),
        "site": list(_SITE),
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
