"""Cache keys: a run is executed again exactly when something that can change its result changed.

A run's key is the SHA-256 of:
- the source and tags of the notebook's code cells (markdown edits do not re-run anything;
  outputs and other cell metadata never count),
- the injected parameters and the seed,
- the content fingerprint of every dataset the notebook declares (not its path),
- the content of every module of the project or of `labjournal.kit` the notebook imports,
  transitively (`labjournal.run.codedeps`), by name relative to the project,
- the content of every file or folder the plan declares under the notebook's `deps:`,
- the version of Python,
- for a summary notebook, the keys of the runs it reads.

The key is what is known before a run. What the run then actually reads (files, listings,
modules anywhere, the installed distributions it imports, with their versions) is recorded with
it (labjournal.run.reads), and a stored run is reused only while both hold: a library upgrade
re-runs exactly the runs that imported it.

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

from labjournal.data.fingerprint import FingerprintCache
from labjournal.errors import DataUnavailableError, LabjournalError
from labjournal.files import canonical_json, expand, sha256_bytes
from labjournal.plan.notebooks import declared_parameters
from labjournal.run.codedeps import local_modules, shown_name

if TYPE_CHECKING:
    from labjournal.data.datasets import DataSource
    from labjournal.plan.model import Plan, RunSpec

KEY_FORMAT = 3  # 3: libraries left the key for the run's recorded reads
SHOWN_LIBRARIES = ("torch", "torchvision", "numpy", "pandas", "scikit-learn", "scipy", "matplotlib")


def notebook_code_hash(path: Path) -> str:
    notebook = nbformat.read(str(path), as_version=4)
    # Tags count: moving the `parameters` tag changes where papermill injects the values.
    code = [
        [cell.source.rstrip(), sorted(cell.get("metadata", {}).get("tags", []))]
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    return sha256_bytes(canonical_json(code).encode())


def code_fingerprints(
    notebook: Path, pythonpath: list[Path], project: Path, cache: FingerprintCache
) -> dict[str, str]:
    """The content of every project or engine module the notebook imports, by shown name."""
    modules = local_modules(notebook, pythonpath, project)
    return dict(sorted((shown_name(path, project), cache.file(path)) for path in modules))


def deps_fingerprints(patterns: tuple[str, ...], project: Path, cache: FingerprintCache) -> dict[str, str]:
    """The content of every file or folder a notebook's `deps:` names (glob patterns allowed)."""
    found: dict[str, str] = {}
    for pattern in patterns:
        matched = expand(project, pattern)
        if not matched:
            raise LabjournalError(f"journal.yml: deps: '{pattern}' matches no file in {project.name}/")
        for path in matched:
            found[shown_name(path, project)] = cache.of(path)
    return dict(sorted(found.items()))


def key_environment() -> dict[str, str]:
    """The environment in every key: Python's version (libraries count by what a run imports)."""
    return {"python": platform.python_version()}


@cache
def library_versions() -> dict[str, str]:
    """Python's and the common numerical libraries' versions, as a build's provenance shows them."""
    versions = {"python": platform.python_version()}
    for name in SHOWN_LIBRARIES:
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
    code: dict[str, str] | None = None,
    deps: dict[str, str] | None = None,
    environment: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Everything a key is made of, as plain data (also stored in each run's provenance)."""
    return {
        "format": KEY_FORMAT,
        "notebook_code": code_hash,
        "parameters": parameters,
        "data": dict(sorted(data_fingerprints.items())),
        "code": dict(sorted((code or {}).items())),
        "deps": dict(sorted((deps or {}).items())),
        "environment": environment if environment is not None else key_environment(),
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


def plan_keys(plan: Plan, specs: list[RunSpec], sources: dict[str, DataSource]) -> list[KeyedRun]:
    """The cache key of every run; summaries after the runs they read.

    The key holds the effective parameters (the notebook's defaults overlaid with the plan's), so
    two experiments that spell the same configuration differently share one run."""
    code: dict[Path, tuple[str, dict[str, Any], dict[str, str]]] = {}
    deps: dict[tuple[str, ...], dict[str, str]] = {}
    files = FingerprintCache()
    keyed: list[KeyedRun] = []
    for spec in specs:
        path = spec.notebook_path
        if path not in code:
            modules = code_fingerprints(path, plan.pythonpath, plan.root, files)
            code[path] = (notebook_code_hash(path), declared_parameters(path), modules)
        if spec.deps not in deps:
            deps[spec.deps] = deps_fingerprints(spec.deps, plan.root, files)
        code_hash, defaults, modules = code[path]
        input_keys = [k.key for k in keyed if k.spec.lab == spec.lab and k.spec.notebook in spec.inputs]
        inputs = key_inputs(
            code_hash=code_hash,
            parameters={**defaults, **spec.parameters},
            data_fingerprints={
                n: sources[n].fingerprint if n in sources else "unavailable" for n in spec.data
            },
            input_keys=input_keys,
            code=modules,
            deps=deps[spec.deps],
        )
        keyed.append(KeyedRun(spec, run_key(inputs), inputs))
    files.save()
    return keyed


def resolve_sources(
    plan: Plan, specs: list[RunSpec], selected: list[RunSpec], want: str, data_dir: str | None
) -> dict[str, DataSource]:
    """Resolve every dataset of the plan's runs; only those the selected runs need must be available."""
    from labjournal.data.datasets import Resolver, resolve

    resolver = Resolver(plan.root, tuple(plan.pythonpath), data_dir)
    must_have = {name for spec in selected for name in spec.data}
    sources = {}
    for name in sorted({name for spec in specs for name in spec.data}):
        try:
            sources.update(resolve(resolver, plan.spec.data, [name], want))
        except DataUnavailableError:
            if name in must_have:
                raise
    return sources
