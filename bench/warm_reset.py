"""What a warm kernel's reset costs: one kernel imports what the labs import (numpy, pandas,
matplotlib, torch where installed) and draws a figure, then the engine's reset
(labjournal.kit.reset.reset_for_run, sent as the engine sends it) runs `--resets` times; prints
the median and the range of the round trip, as the worker waits for it.

    python bench/warm_reset.py [--resets 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from labjournal.run import warm
from labjournal.run.kernel import ensure_kernelspec

LAB_STATE = """
import matplotlib, matplotlib.pyplot as plt, numpy as np, pandas as pd
try:
    import torch
    torch.set_default_dtype(torch.float64)
except ImportError:
    pass
plt.plot(np.arange(10))
"""


def main(resets: int) -> None:
    kernels = warm.WarmKernels()
    name = ensure_kernelspec()
    with tempfile.TemporaryDirectory() as folder:
        environment = {"PYTHONPATH": folder, "LABJOURNAL_RUN_DIR": folder, "OMP_NUM_THREADS": "1"}
        kernel = kernels.start(name, environment, timeout_s=120)
        try:
            warm._in_kernel(kernel, warm.WARM_UP)
            times = []
            for _ in range(resets):
                warm._in_kernel(kernel, LAB_STATE)  # a run's state for the reset to undo
                started = time.perf_counter()
                warm._reset(kernel, environment, folder)
                times.append(time.perf_counter() - started)
        finally:
            kernels.shutdown()
    print(
        f"{resets} resets on {os.cpu_count()} cores: median {statistics.median(times) * 1000:.1f} ms "
        f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resets", type=int, default=20)
    main(parser.parse_args().resets)
