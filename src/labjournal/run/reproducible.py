"""`.labjournal/reproducibility.json`: the notebooks whose runs `labjournal verify --twice` found
not reproducible (two executions of the same key gave different outputs), with the keys and the
values that moved. The Claims page flags claims resting on them (labjournal.claims.judge), as it
does notebooks whose seed changes nothing, while one of those keys is among the journal's runs.
Written by `verify`, never into results/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from labjournal.files import atomic_write_json

RECORD = Path(".labjournal") / "reproducibility.json"


def read(project_root: Path) -> dict[str, dict[str, Any]]:
    """{"lab/notebook": {"keys": [...], "moved": [...]}}; nothing where verify never found any."""
    try:
        found = json.loads((Path(project_root) / RECORD).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return found if isinstance(found, dict) else {}


def update(project_root: Path, checked: dict[str, bool], moved: dict[str, dict[str, Any]]) -> None:
    """After `--twice`: `checked` says per notebook whether all its runs repeated; `moved` holds
    the keys and values of those that did not. Notebooks not checked keep their entry."""
    record = read(project_root)
    for notebook, repeated in checked.items():
        if repeated:
            record.pop(notebook, None)
        else:
            record[notebook] = moved[notebook]
    atomic_write_json(Path(project_root) / RECORD, record)


def flags(project_root: Path, rows: list[Any]) -> dict[str, str]:
    """The notes for claims, by `lab/notebook`, of notebooks with a not reproducible run among `rows`."""
    keys = {row.key for row in rows}
    return {
        notebook: (
            "not reproducible: two executions of the same run gave different outputs "
            f"({', '.join(entry.get('moved', [])[:3])}; labjournal verify --twice): randomness the "
            "seed does not control"
        )
        for notebook, entry in read(project_root).items()
        if keys & set(entry.get("keys", []))
    }
