"""Set-up every notebook does first: seeds, threads, device.

PyTorch is optional: without it, `setup` seeds Python's and NumPy's generators and returns "cpu".
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np

from labjournal.kit import record
from labjournal.kit.env import DEVICE_ENV, THREADS_ENV


def setup(seed: int, device: str | None = None) -> Any:
    """Seed every generator, take this worker's share of the cores and pick the device: the one
    given, else the plan's choice for this run (`device:` of the notebook, resolved by the
    scheduler), else CUDA when present. Returns a `torch.device`, or "cpu" without torch."""
    random.seed(seed)
    np.random.seed(seed)
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
