"""Work done once per input content, kept in the cache folder for every later run that needs it.

Reading and cleaning the shelter table, preparing one split's tensors and fitting the baselines
of a split give the same result in every run that shares their inputs, so each is computed once
and pickled under `<cache>/course/<kind>/` (the cache folder of labjournal.kit.data: the
`LABJOURNAL_CACHE` folder, else ~/.cache/labjournal). The key is a hash of everything the result
depends on: the data's content fingerprint (from the engine), the parameters, the versions of the
libraries that compute it, and the source of the course modules that do (`code`); editing any of
them computes it again. A missing, unreadable or unwritable cache only costs the time. Runs
that need the same result at the same time take turns: one computes, the others read it back.
Results are plain values (builtins, NumPy, pandas): a class of the course itself may be imported
anew between two runs in one kernel, and its pickles would then not load.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from labjournal.kit.data import cache_dir

T = TypeVar("T")
_LIBRARIES = ("numpy", "pandas", "scikit-learn", "torch")


def _source_hash(modules: tuple[str, ...]) -> dict[str, str]:
    hashes = {}
    for name in modules:
        source = inspect.getsource(importlib.import_module(name))
        hashes[name] = hashlib.sha256(source.encode()).hexdigest()
    return hashes


def _versions() -> dict[str, str]:
    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def key_of(kind: str, parts: dict, code: tuple[str, ...]) -> str:
    """The hash naming one result: its kind, inputs, library versions and the course code."""
    described = {"kind": kind, "parts": parts, "code": _source_hash(code), "versions": _versions()}
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def folder() -> Path:
    return cache_dir() / "course"


_MISSING = object()


def _load(path: Path) -> object:
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return _MISSING


@contextmanager
def _computing(path: Path) -> Iterator[None]:
    """Hold `path`'s lock file while its result is computed: two runs that need the same result at
    the same time (two workers starting neighbouring grid points) compute it once, the second
    waiting for the first and reading its result. Where no lock can be taken, nobody waits; the
    lock goes with the file's closing or the process's end."""
    with ExitStack() as stack:
        with suppress(ImportError, OSError):
            import fcntl

            path.parent.mkdir(parents=True, exist_ok=True)
            handle = stack.enter_context(open(path.with_suffix(".lock"), "a"))
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def cached(kind: str, parts: dict, code: tuple[str, ...], compute: Callable[[], T]) -> T:
    """`compute()` once per key; later calls, here or in another process, read the pickled
    result back."""
    path = folder() / kind / f"{key_of(kind, parts, code)[:32]}.pkl"
    found = _load(path)
    if found is not _MISSING:
        return found  # type: ignore[return-value]
    with _computing(path):
        found = _load(path)  # computed while this run waited for the lock
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        result = compute()
        _store(path, result)
    return result


def _store(path: Path, result: object) -> None:
    partial = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".part", delete=False) as handle:
            partial = handle.name
            pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, path)  # readers never see half a file; concurrent writers agree
    except OSError:
        pass
    finally:
        if partial is not None and os.path.exists(partial):
            os.unlink(partial)
