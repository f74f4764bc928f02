"""Cache keys: a run is executed again exactly when something that can change its result changed.

A run's key is the SHA-256 of:
- the source and tags of the notebook's code cells (markdown edits do not re-run anything;
  outputs and other cell metadata never count),
- the injected parameters and the seed,
- the content fingerprint of every dataset the notebook declares (not its path),
- the source of `labjournal.kit`, the helpers notebooks import,
- the versions of Python and of the numerical libraries,
- for a summary notebook, the keys of the runs it reads.

Not in the key, on purpose: the device (CPU or CUDA; recorded in the provenance instead), the
run's folder and the time. `--force` re-runs regardless of the key.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from labjournal.files import canonical_json, sha256_bytes, sha256_file

if TYPE_CHECKING:
    from labjournal.plan import RunSpec

KEY_FORMAT = 1
KEYED_LIBRARIES = ("torch", "torchvision", "numpy", "pandas", "scikit-learn", "scipy", "matplotlib")
KIT_DIR = Path(__file__).parent / "kit"


def notebook_code_hash(path: Path) -> str:
    notebook = nbformat.read(str(path), as_version=4)
    # Tags count: moving the `parameters` tag changes where papermill injects the values.
    code = [
        [cell.source.rstrip(), sorted(cell.get("metadata", {}).get("tags", []))]
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    return sha256_bytes(canonical_json(code).encode())


@cache
def kit_hash() -> str:
    files = sorted(p for p in KIT_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return sha256_bytes(canonical_json({str(f.relative_to(KIT_DIR)): sha256_file(f) for f in files}).encode())


@cache
def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in KEYED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def key_inputs(
    *,
    code_hash: str,
    parameters: dict[str, Any],
    data_fingerprints: dict[str, str],
    input_keys: list[str],
    kit: str | None = None,
    environment: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Everything a key is made of, as plain data (also stored in each run's provenance)."""
    return {
        "format": KEY_FORMAT,
        "notebook_code": code_hash,
        "parameters": parameters,
        "data": dict(sorted(data_fingerprints.items())),
        "kit": kit if kit is not None else kit_hash(),
        "environment": environment if environment is not None else library_versions(),
        "inputs": sorted(input_keys),
    }


def run_key(inputs: dict[str, Any]) -> str:
    return sha256_bytes(canonical_json(inputs).encode())


@dataclass
class KeyedRun:
    """A planned run with its cache key and everything the key was computed from."""

    spec: RunSpec
    key: str
    inputs: dict[str, Any]
