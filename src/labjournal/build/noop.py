"""A `report` with nothing changed does nothing, quickly.

After a report that ran, rendered and built everything it had to (no failure, no claim left
waiting on the time budget), the size and modification time of every file it depends on are
recorded in `.labjournal/report[-PROFILE].json`: the plan, `_quarto.yml`, prose, templates,
notebooks and every other file under `experiments/`, the `pythonpath` folders and `deps:` of the
plan, the datasets the runs used, the results store, the built site and PDF, the engine's own
source, the installed packages' folder, the environment variables that steer runs, and the
command's options. The next `report` with the same signature says so and stops, having imported
nothing heavy (this module needs only the standard library and PyYAML). Any change, or `--force`,
takes the full path, where the cache and the render record decide what is redone.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from labjournal.files import expand
from labjournal.names import DECISIONS, index_file

ENVIRONMENT = ("LABJOURNAL_DATA", "LABJOURNAL_CACHE", "PYTHONPATH", "LABJOURNAL_KERNEL_MAX_RUNS")
_SKIP = {"__pycache__", ".ipynb_checkpoints", ".labjournal-scratch", ".git", ".staging"}


def _walk(path: Path) -> list[tuple[str, int, int]]:
    if path.is_file():
        stat = path.stat()
        return [(str(path), stat.st_size, stat.st_mtime_ns)]
    found = []
    for folder, folders, files in os.walk(path):
        folders[:] = sorted(name for name in folders if name not in _SKIP)
        for name in sorted(files):
            try:
                stat = os.stat(os.path.join(folder, name))
            except OSError:
                continue
            found.append((os.path.join(folder, name), stat.st_size, stat.st_mtime_ns))
    return found


def _plan(root: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load((root / "journal.yml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _depended_on(root: Path, site: str, profile_suffix: str) -> list[Path]:
    plan = _plan(root)
    paths = [
        root / "journal.yml",
        root / "_quarto.yml",
        root / "report",
        root / "templates",
        root / "experiments",
    ]
    paths += [root / folder for folder in plan.get("pythonpath") or [] if isinstance(folder, str)]
    for lab in (plan.get("labs") or {}).values():
        for notebook in (lab.get("notebooks") or {}).values() if isinstance(lab, dict) else []:
            for pattern in (notebook.get("deps") or []) if isinstance(notebook, dict) else []:
                paths += expand(root, pattern)
    paths += [root / "results", root / f"{site}{profile_suffix}", Path(__file__).parents[1]]
    index = root / "results" / index_file(profile_suffix[1:] or None)
    try:
        data = json.loads(index.read_text()).get("data", {})
    except (OSError, json.JSONDecodeError):
        data = {}
    paths += [
        Path(source["root"]) for source in data.values() if isinstance(source, dict) and "root" in source
    ]
    return paths


def signature(root: Path, site: str, profile_suffix: str, options: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    digest.update(json.dumps({name: os.environ.get(name) for name in ENVIRONMENT}).encode())
    packages = Path(sys.prefix) / "lib"
    digest.update(str(packages.stat().st_mtime_ns if packages.exists() else 0).encode())
    for path in _depended_on(root, site, profile_suffix):
        for entry in _walk(path) if path.exists() else [(str(path), -1, -1)]:
            digest.update(repr(entry).encode())
    return digest.hexdigest()


def stamp_path(root: Path, profile_suffix: str) -> Path:
    return root / ".labjournal" / f"report{profile_suffix}.json"


def unchanged(root: Path, site: str, profile_suffix: str, options: dict[str, Any]) -> bool:
    """True when nothing the last complete report depended on has changed."""
    try:
        recorded = json.loads(stamp_path(root, profile_suffix).read_text())["signature"]
    except (OSError, json.JSONDecodeError, KeyError):
        return False
    return recorded == signature(root, site, profile_suffix, options)


def record(root: Path, site: str, profile_suffix: str, options: dict[str, Any]) -> None:
    """Remember a complete report's signature (after the report: its outputs are part of it)."""
    path = stamp_path(root, profile_suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"signature": signature(root, site, profile_suffix, options)}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(payload))
    os.replace(temporary, path)


def waiting_on_budget(root: Path) -> bool:
    """A claim that stopped because the time budget ran out would get more seeds next time."""
    try:
        claims = json.loads((root / "results" / DECISIONS).read_text()).get("claims", {})
    except (OSError, json.JSONDecodeError):
        return False
    return any("budget" in str(state.get("stopped", "")) for state in claims.values())
