"""Set-up every notebook does first: seeds, threads, device."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from labjournal.kit import record
from labjournal.kit.env import THREADS_ENV


def setup(seed: int, device: str = "auto") -> torch.device:
    """Seed every generator, take this worker's share of the cores, pick CUDA when present."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    threads = os.environ.get(THREADS_ENV)
    if threads:
        torch.set_num_threads(int(threads))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    chosen = torch.device(device)
    record.device(str(chosen) if chosen.type == "cpu" else f"{chosen} ({torch.cuda.get_device_name(chosen)})")
    return chosen
