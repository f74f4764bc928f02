"""How close the showcase's training runs come to the machine, per notebook, in one run.

For every notebook whose runs train (they record `train_time_s` and their counted FLOPs:
`train_flops`, else `flops_per_epoch` x the `epochs` parameter), it prints

- the training FLOP rate (counted FLOPs / training seconds, summed over the distinct runs)
  divided by the machine's single-thread fp32 matmul rate, measured in this same run
  (torch.matmul of two 1024x1024 float32 matrices, one thread, as the runs use): by the wall
  clock (the runs' `train_time_s`) against the median sample and against the best sample (the
  machine's pace when nothing competes, as the issue's 121 GFLOP/s was), and by CPU time
  (`train_cpu_s`, else the median epoch's CPU time x epochs, against the matmul's CPU time),
  which a busy machine disturbs much less;
- run time / training time (each run's whole execution: kernel work, imports, data, baselines,
  evaluation, recording; against its training loop alone).

With `--run`, it first executes `labjournal run --profile PROFILE --jobs JOBS` in PROJECT (with
LABJOURNAL_CACHE pointed at `--cache`, fresh if you give a new folder) and prints its wall time;
the matmul rate is sampled every few seconds while the runs execute (one product per sample, a
few per cent of one core), so it sees the same machine they did, and the load average at both
ends is printed. Without `--run` it reads the index that is there and samples the rate now.

    python bench/lab_speed.py PROJECT [--profile quick] [--run] [--jobs 2] [--cache DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from labjournal.results.lookup import read_json

MATMUL_SIZE = 1024


@dataclass
class MatmulRates:
    """Samples of the single-thread fp32 matmul rate, by the wall clock and by CPU time."""

    wall: list[float] = field(default_factory=list)  # GFLOP/s
    cpu: list[float] = field(default_factory=list)

    def sample(self, size: int = MATMUL_SIZE) -> None:
        import torch

        torch.set_num_threads(1)
        generator = torch.Generator().manual_seed(0)
        a, b = torch.randn(size, size, generator=generator), torch.randn(size, size, generator=generator)
        torch.matmul(a, b)  # warm up
        started, started_cpu = time.perf_counter(), time.thread_time()
        torch.matmul(a, b)
        wall, cpu = time.perf_counter() - started, time.thread_time() - started_cpu
        self.wall.append(2 * size**3 / wall / 1e9)
        self.cpu.append(2 * size**3 / max(cpu, 1e-9) / 1e9)

    def describe(self) -> str:
        wall, cpu = statistics.median(self.wall), statistics.median(self.cpu)
        return (
            f"matmul fp32 {MATMUL_SIZE}x{MATMUL_SIZE}, 1 thread, {len(self.wall)} samples: wall median "
            f"{wall:.1f} GFLOP/s (min {min(self.wall):.1f}, max {max(self.wall):.1f}); CPU-time median {cpu:.1f}"
        )


def sample_while(rates: MatmulRates, done: threading.Event, every_s: float = 4.0) -> None:
    """Sample `rates` every `every_s` seconds until `done` is set."""
    while not done.wait(every_s):
        rates.sample()


@dataclass(frozen=True)
class NotebookSpeed:
    notebook: str  # lab/notebook
    runs: int
    flops: float  # counted training FLOPs, summed over the distinct runs
    train_s: float  # training seconds (the runs' own train_time_s), summed
    train_cpu_s: float  # training CPU seconds of the runs' processes, summed
    run_s: float  # the runs' whole execution times, summed

    def flop_rate(self) -> float:
        return self.flops / self.train_s / 1e9 if self.train_s else float("nan")

    def cpu_flop_rate(self) -> float:
        return self.flops / self.train_cpu_s / 1e9 if self.train_cpu_s else float("nan")


def _training_flops(row: dict) -> float | None:
    metrics = row["metrics"]
    if metrics.get("train_flops"):
        return float(metrics["train_flops"])
    if metrics.get("flops_per_epoch") and row["params"].get("epochs"):
        return float(metrics["flops_per_epoch"]) * float(row["params"]["epochs"])
    return None


def _training_cpu_s(row: dict) -> float:
    metrics = row["metrics"]
    if metrics.get("train_cpu_s"):
        return float(metrics["train_cpu_s"])
    return float(metrics.get("epoch_cpu_s") or 0.0) * float(row["params"].get("epochs") or 0)


def notebook_speeds(index: dict) -> list[NotebookSpeed]:
    """One record per notebook whose distinct runs trained (FLOPs and training time recorded)."""
    grouped: dict[str, list[dict]] = {}
    for row in {row["key"]: row for row in index["runs"] if row["status"] == "ok"}.values():
        if row["metrics"].get("train_time_s") and _training_flops(row):
            grouped.setdefault(f"{row['lab']}/{row['notebook']}", []).append(row)
    speeds = []
    for notebook, rows in sorted(grouped.items()):
        flops = sum(_training_flops(row) or 0.0 for row in rows)
        train = sum(float(row["metrics"]["train_time_s"]) for row in rows)
        cpu = sum(_training_cpu_s(row) for row in rows)
        run = sum(float(row["duration_s"] or 0.0) for row in rows)
        speeds.append(NotebookSpeed(notebook, len(rows), flops, train, cpu, run))
    return speeds


def print_table(speeds: list[NotebookSpeed], rates: MatmulRates) -> None:
    wall, best, cpu = statistics.median(rates.wall), max(rates.wall), statistics.median(rates.cpu)
    print(f"{'notebook':<15}{'runs':>5}{'GFLOP':>8}{'train s':>9}{'GFLOP/s':>9}{'/median':>9}{'/best':>8}"
          f"{'train CPU s':>12}{'CPU GFLOP/s':>12}{'/CPU':>8}{'run s':>8}{'run/train':>10}")  # fmt: skip
    for s in speeds:
        overhead = s.run_s / s.train_s if s.train_s else float("nan")
        print(
            f"{s.notebook:<15}{s.runs:>5}{s.flops / 1e9:>8.1f}{s.train_s:>9.1f}{s.flop_rate():>9.2f}"
            f"{100 * s.flop_rate() / wall:>8.1f}%{100 * s.flop_rate() / best:>7.1f}%{s.train_cpu_s:>12.1f}"
            f"{s.cpu_flop_rate():>12.2f}{100 * s.cpu_flop_rate() / cpu:>7.1f}%{s.run_s:>8.1f}{overhead:>10.2f}"
        )


def run_journal(project: Path, profile: str, jobs: int, cache: Path | None) -> float:
    """Execute the profile's runs in `project`; the wall seconds it took."""
    env = dict(os.environ)
    if cache is not None:
        env["LABJOURNAL_CACHE"] = str(cache)
    command = [
        str(Path(sys.executable).parent / "labjournal"),
        "run",
        "--profile",
        profile,
        "--jobs",
        str(jobs),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    print((done.stdout + done.stderr).strip().splitlines()[-1] if (done.stdout + done.stderr).strip() else "")
    if done.returncode != 0:
        raise SystemExit(f"labjournal run failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed


def index_path(project: Path, profile: str | None) -> Path:
    results = project / "results"
    named = results / f"index.{profile}.json"
    return named if profile and named.is_file() else results / "index.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", nargs="?", default=".", type=Path)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--run", action="store_true", help="execute the profile's runs first")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", type=Path, help="LABJOURNAL_CACHE for --run")
    args = parser.parse_args(argv)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    rates = MatmulRates()
    if args.run:
        done = threading.Event()
        sampler = threading.Thread(target=sample_while, args=(rates, done), daemon=True)
        sampler.start()
        try:
            wall = run_journal(args.project, args.profile, args.jobs, args.cache)
        finally:
            done.set()
            sampler.join()
        print(f"labjournal run --profile {args.profile} --jobs {args.jobs}: {wall:.1f} s wall")
    while len(rates.wall) < 5:
        rates.sample()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(rates.describe())
    print_table(notebook_speeds(read_json(index_path(args.project, args.profile))), rates)


if __name__ == "__main__":
    main()
