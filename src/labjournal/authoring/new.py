"""`labjournal new DIR`: a minimal journal that builds as it is, from files shipped in the package.

One lab with one parameterised notebook (declares `seed`, records a scalar, a series and a figure),
a plan with `quick` and `default` profiles, one page with the five journal sections placing a value
and a figure from the results, one claim and the Claims page listing it, a bibliography, `_quarto.yml`, the layout templates, a
Makefile, a README, `.gitignore` and `.ci/run`. Files ending in `.in` are filled in with the title,
the author and where labjournal comes from (this installation); the others are copied as they are.
"""

from __future__ import annotations

import json
import os
import shutil
from importlib import metadata, resources
from pathlib import Path
from string import Template

from labjournal.errors import LabjournalError

SCAFFOLD = "scaffold"


def install_spec() -> str:
    """What the new journal's Makefile installs: this installation's folder when it was installed
    from one (`pip install -e PATH`), else this version from the package index."""
    try:
        distribution = metadata.distribution("labjournal")
    except metadata.PackageNotFoundError:
        return "labjournal"
    direct = distribution.read_text("direct_url.json")
    if direct:
        url = json.loads(direct).get("url", "")
        if url.startswith("file://"):
            return url.removeprefix("file://")
    return f"labjournal=={distribution.version}"


def new_journal(target: str | Path, title: str, author: str) -> Path:
    target = Path(target).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise LabjournalError(
            f"{target} is not empty: `labjournal new` only writes into a new or empty folder"
        )
    values = {"title": title.replace('"', "'"), "author": author.replace('"', "'"), "install": install_spec()}
    source = resources.files("labjournal") / SCAFFOLD
    with resources.as_file(source) as folder:
        target.mkdir(parents=True, exist_ok=True)
        files = [Path(root) / name for root, _, names in os.walk(folder, followlinks=True) for name in names]
        for path in sorted(files):
            relative = path.relative_to(folder)
            if "__pycache__" in relative.parts:
                continue
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".in":
                destination = destination.with_suffix("")
                destination.write_text(
                    Template(path.read_text(encoding="utf-8")).substitute(values), encoding="utf-8"
                )
            else:
                shutil.copy2(path, destination)
    return target
