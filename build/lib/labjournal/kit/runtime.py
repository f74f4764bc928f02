"""Set-up every notebook does first: seeds, threads, device."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from labjournal.kit import record
from labjournal.kit.env import DEVICE_ENV, THREADS_ENV


def setup(seed: int, device: str | None = None) -> torch.device:
    """Seed every generator, take this worker's share of the cores and pick the device: the one
    given, else the plan's choice for this run (`device:` of the notebook, resolved by the
    scheduler), else CUDA when present."""
    random.seed(seed)
    np.random.seed(seed)
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
