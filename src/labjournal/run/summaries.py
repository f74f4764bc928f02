"""What a summary notebook reads, and when its result is still current.

A summary runs after the runs of the notebooks it names in `inputs:`. Its cache key includes
their keys, and its run record the checksums of what it read, so that it re-runs when an input
changes, also when an input is re-executed under the same key (`--force`, measured timings).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from labjournal.files import canonical_json, sha256_bytes
from labjournal.records import METRICS, RunRecord
from labjournal.results.store import ResultsStore
from labjournal.run.cache import KeyedRun


def summary_inputs(
    item: KeyedRun, keyed: list[KeyedRun], run_dir_of: Callable[[KeyedRun], Path]
) -> list[dict[str, Any]]:
    """The runs a summary reads (`labjournal.kit.inputs`), with where each one's files are."""
    return [
        {
            "lab": other.spec.lab,
            "notebook": other.spec.notebook,
            "experiment": other.spec.experiment,
            "params": other.spec.params,
            "seed": other.spec.seed,
            "key": other.key,
            "run_dir": str(run_dir_of(other)),
        }
        for other in keyed
        if other.key in item.inputs["inputs"] and other.spec.lab == item.spec.lab
    ]


def inputs_content(item: KeyedRun, keyed: list[KeyedRun], store: ResultsStore) -> str:
    """What a summary read: the checksum of every input run's metrics, as the runs are now. A
    summary is current only while this is what it recorded: an input re-executed with `--force`
    (same key, new timings) makes it stale even though no key changed."""
    content = [
        [other.key, store.recorded_checksum(other.spec.lab, other.spec.notebook, other.key, METRICS)]
        for other in keyed
        if other.key in item.inputs["inputs"] and other.spec.lab == item.spec.lab
    ]
    return sha256_bytes(canonical_json(sorted(content)).encode())


def stale_summary(
    item: KeyedRun,
    record: RunRecord,
    keyed: list[KeyedRun],
    todo: dict[str, KeyedRun],
    store: ResultsStore,
) -> bool:
    if set(item.inputs["inputs"]) & set(todo):
        return True  # an input executes now: the summary must read its new files
    return record.inputs_content != inputs_content(item, keyed, store)
