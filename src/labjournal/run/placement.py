"""Where, in which order and with what environment runs execute: the device a run trains on, the
order runs go to the workers, and the environment variables through which a run's notebook
learns its folder, key, thread share, device and data."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from labjournal.data.datasets import SOURCES_ENV, DataSource, sources_to_env
from labjournal.names import DEVICE_ENV, RUN_DIR_ENV, RUN_KEY_ENV, THREADS_ENV
from labjournal.run.cache import KeyedRun


def interleave(items: list[KeyedRun]) -> list[KeyedRun]:
    """Runs in turn from each notebook, so that a slow notebook's runs are spread over the whole
    execution instead of all arriving at its end (one warm kernel per worker serves them all)."""
    groups: dict[Path, list[KeyedRun]] = {}
    for item in items:
        groups.setdefault(item.spec.notebook_path, []).append(item)
    rounds = itertools.zip_longest(*groups.values())
    return [item for round_ in rounds for item in round_ if item is not None]


def run_device(policy: str, workers: int) -> str:
    """Where a run trains. `auto` with several workers means the cores: the labs' models are small,
    and many processes sharing one GPU were slower than the same processes on the CPU (a 16-core
    H100 machine: quick profile 68.9 s with 16 workers on CUDA, while one Lab 02 fit took 0.90 s
    on the GPU and 0.81 s on 8 cores). So with a GPU the default profile runs as with CUDA
    hidden, and a single worker (`--jobs 1`) or `device: cuda` uses the GPU."""
    if policy == "auto" and workers > 1:
        return "cpu"
    return policy


def import_path(notebook_folder: Path, pythonpath: list[Path]) -> str:
    """What a run imports from first: its notebook's folder, then the plan's pythonpath folders."""
    return os.pathsep.join(str(folder) for folder in (notebook_folder, *pythonpath))


def run_environment(
    item: KeyedRun,
    run_dir: Path,
    sources: dict[str, DataSource],
    threads: int,
    workers: int = 1,
    pythonpath: list[Path] | None = None,
) -> dict[str, str]:
    """What a run's notebook finds in its environment: its folder, key, thread share, device,
    data and import path (PYTHONPATH: a fresh kernel starts with it, a warm one's reset puts it first
    on sys.path: labjournal.kit.reset)."""
    folders = import_path(item.spec.notebook_path.parent, pythonpath or [])
    inherited = os.environ.get("PYTHONPATH", "")  # this process's: the scheduler never changes it
    return {
        "PYTHONPATH": os.pathsep.join(part for part in (folders, inherited) if part),
        RUN_DIR_ENV: str(run_dir),
        RUN_KEY_ENV: item.key,
        THREADS_ENV: str(threads),
        DEVICE_ENV: run_device(item.spec.device, workers),
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        SOURCES_ENV: sources_to_env({n: sources[n] for n in item.spec.data if n in sources}),
        "PYTHONHASHSEED": "0",
    }


SHIPPED_DATA_LIMIT = 64 * 2**20  # bytes: a `path:` dataset inside the project up to this size travels


def shipped_files(project: Path, item: KeyedRun, sources: dict[str, DataSource]) -> tuple[Path, ...]:
    """The project's files a run reads besides its notebook: its local modules, its declared deps
    and its small datasets inside the project. A Dask worker without the project gets them with
    the job (larger datasets, downloads and loaders are resolved on the worker's side)."""
    names = [*item.inputs.get("code", {}), *item.inputs.get("deps", {})]
    found = [project / name for name in names if (project / name).exists()]
    for name in item.spec.data:
        root = Path(sources[name].root) if name in sources else None
        if root is not None and project in root.parents and _size(root) <= SHIPPED_DATA_LIMIT:
            found.append(root)
    files = [
        f for path in found for f in ([path] if path.is_file() else sorted(path.rglob("*"))) if f.is_file()
    ]
    return tuple(dict.fromkeys(files))


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
