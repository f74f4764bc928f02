"""Set-up every notebook does first: seeds, determinism, threads, device.

PyTorch is optional: without it, `setup` seeds Python's and NumPy's generators and returns "cpu".
With it, `setup` also seeds torch, asks for deterministic algorithms (warning, not failing, where an
operation has none) and cuDNN's deterministic kernels, so that a seeded run repeats bit for bit on
the same machine (`labjournal verify`). What it cannot control, `not_controlled()` says: a
DataLoader's workers and shuffling (pass `worker_init_fn=seed_worker, generator=generator(seed)`),
the hash seed of an interpreter started without PYTHONHASHSEED, cuBLAS where CUDA started first.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np

from labjournal.kit import record
from labjournal.names import DEVICE_ENV, THREADS_ENV

_NOT_CONTROLLED: list[str] = []


def not_controlled() -> list[str]:
    """What the last `setup` could not make deterministic, one sentence each."""
    return list(_NOT_CONTROLLED)


def reset() -> None:
    """Forget what the last `setup` could not control (a warm kernel's next run)."""
    _NOT_CONTROLLED.clear()


def seed_worker(worker_id: int) -> None:
    """A DataLoader's `worker_init_fn`: each worker's Python and NumPy generators from torch's seed."""
    import torch

    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def generator(seed: int) -> Any:
    """A seeded `torch.Generator` for a DataLoader's shuffling (`generator=`)."""
    import torch

    return torch.Generator().manual_seed(seed)


def _deterministic(torch: Any) -> list[str]:
    """Deterministic algorithms where torch has them; what stays out of reach."""
    cannot = [
        "DataLoader workers and shuffling: pass worker_init_fn=runtime.seed_worker and "
        "generator=runtime.generator(seed)"
    ]
    if (
        torch.cuda.is_available()
        and torch.cuda.is_initialized()
        and "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    ):
        cannot.append("cuBLAS: CUDA started before setup, so CUBLAS_WORKSPACE_CONFIG could not be set")
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)  # an op without one warns, naming itself
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    return cannot


def setup(seed: int, device: str | None = None) -> Any:
    """Seed every generator, take this worker's share of the cores and pick the device: the one
    given, else the plan's choice for this run (`device:` of the notebook, resolved by the
    scheduler), else CUDA when present. Returns a `torch.device`, or "cpu" without torch."""
    random.seed(seed)
    np.random.seed(seed)
    _NOT_CONTROLLED.clear()
    if os.environ.get("PYTHONHASHSEED") is None:
        _NOT_CONTROLLED.append("str hashing (set order): this interpreter started without PYTHONHASHSEED")
    try:
        import torch
    except ImportError:
        if (device or os.environ.get(DEVICE_ENV) or "auto").startswith("cuda"):
            raise RuntimeError(
                "this run asks for CUDA (journal.yml: device), but torch is not installed"
            ) from None
        record.device("cpu")
        return "cpu"
    torch.manual_seed(seed)
    _NOT_CONTROLLED.extend(_deterministic(torch))
    threads = os.environ.get(THREADS_ENV)
    if threads:
        torch.set_num_threads(int(threads))
    device = device or os.environ.get(DEVICE_ENV) or "auto"
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(
            f"this run asks for device '{device}' (journal.yml: device), but torch sees no CUDA device"
        )
    chosen = torch.device(device)
    record.device(str(chosen) if chosen.type == "cpu" else f"{chosen} ({torch.cuda.get_device_name(chosen)})")
    return chosen
