"""Inside the kernel: what one run actually read, recorded while it executes.

The engine calls `begin()` before a run's first cell and `finish(path)` after its last, in the
run's own kernel (a warm kernel records each run apart). Between the two, an audit hook
(`sys.addaudithook`, installed once per kernel) notes every file opened for reading and every
folder the notebook's code listed (`open`, `os.listdir`, `os.scandir`); what the import system
opens and lists while it searches `sys.path` is left out (the modules it found are recorded
instead). `finish` adds the modules loaded that live outside the standard library and the
installed distributions (the project's, `pythonpath`'s, editable installs', namespace packages'),
and the distributions the run imported (every `import` it executed, noted by a wrapper of
`builtins.__import__`, and every module newly loaded), with those they require, by version, and
writes it all as JSON for the engine
(labjournal.run.reads), which keeps what lies in the project and fingerprints it.

Standard library only (with labjournal.kit.reset, which is too, for the folders of the installed
libraries): this module is imported into every kernel before anything else, so that the modules
the kernel itself had loaded (ipykernel, IPython, zmq) are not counted as the run's.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import sys
from types import FrameType
from typing import Any

from labjournal.kit.reset import LIBRARY_ROOTS as _LIBRARY_ROOTS  # standard library only, too

_BASELINE = frozenset(sys.modules)  # the kernel's own modules, loaded before any run
_WATCHED = frozenset({"open", "os.listdir", "os.scandir"})
_WRITE_MODES = frozenset("wax")


class _Log:
    active = False
    installed = False
    read: dict[str, None] = {}  # ordered sets
    listed: dict[str, None] = {}
    written: set[str] = set()
    imported: set[str] = set()  # top-level packages the run's imports named
    loaded: frozenset[str] = frozenset()  # the modules loaded before the run began


_MACHINERY = ("<frozen importlib", "<frozen zipimport")
_MACHINERY_FILES = (f"{os.sep}importlib{os.sep}", f"{os.sep}pkgutil.py")


def _from_import_system() -> bool:
    """True when the event comes from the import machinery: importlib searching `sys.path`, or
    `importlib.metadata` and `pkgutil` scanning it for distributions (through `pathlib` or not).
    The frames above the hook are walked until the first one outside the standard library's
    path helpers."""
    frame: FrameType | None = sys._getframe(2)
    for _ in range(6):
        if frame is None:
            return False
        name = frame.f_code.co_filename
        if name.startswith(_MACHINERY) or any(part in name for part in _MACHINERY_FILES):
            return True
        if not name.endswith(
            ("pathlib.py", "os.py", "genericpath.py", "posixpath.py", "glob.py", "fnmatch.py")
        ):
            return False
        frame = frame.f_back
    return False


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


_IMPORT = builtins.__import__


def _import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:  # noqa: A002
    """`import` as Python does it, noting the top-level package of every import the run executes
    (also of a module already loaded, which the import system does not announce)."""
    if _Log.active:
        package = name if level == 0 else (globals or {}).get("__package__") or ""
        _Log.imported.add(package.partition(".")[0])
    return _IMPORT(name, globals, locals, fromlist, level)


def begin() -> None:
    """Start recording a run (installs the hook and the import wrapper the first time)."""
    if not _Log.installed:
        sys.addaudithook(_hook)
        builtins.__import__ = _import
        _Log.installed = True
    _Log.read, _Log.listed, _Log.written, _Log.imported = {}, {}, set(), set()
    _Log.loaded = frozenset(sys.modules)
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


_DISTRIBUTIONS: dict[str, list[str]] = {}  # top-level module -> distributions (per kernel)
_REQUIRES: dict[str, list[str]] = {}  # distribution -> the distributions it requires


def _requirements(distribution: str) -> list[str]:
    from importlib import metadata

    if distribution not in _REQUIRES:
        try:
            declared = metadata.requires(distribution) or []
        except metadata.PackageNotFoundError:
            declared = []
        names = [
            re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req) for req in declared if "extra ==" not in req
        ]
        _REQUIRES[distribution] = [match.group(1) for match in names if match]
    return _REQUIRES[distribution]


def _distributions(tops: set[str]) -> dict[str, str]:
    """The installed distributions of the top-level modules the run imported, and every
    distribution they require (a library the run imported through another counts), by version."""
    from importlib import metadata

    if not _DISTRIBUTIONS:
        _DISTRIBUTIONS.update(metadata.packages_distributions())
    todo = [dist for top in tops - set(sys.stdlib_module_names) for dist in _DISTRIBUTIONS.get(top, [])]
    versions: dict[str, str] = {}
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in versions:
            continue
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        todo += _requirements(name)
    return dict(sorted(versions.items()))


def finish(path: str) -> None:
    """Stop recording and write what the run read to `path`."""
    _Log.active = False
    listed = {folder: sorted(os.listdir(folder)) for folder in _Log.listed if os.path.isdir(folder)}
    tops = _Log.imported | {name.split(".")[0] for name in set(sys.modules) - _Log.loaded}
    payload = {
        "files": [p for p in _Log.read if p not in _Log.written],
        "listings": listed,
        "modules": _module_files(),
        "distributions": _distributions(tops - {"labjournal", "__main__"}),
    }
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(payload, handle)
