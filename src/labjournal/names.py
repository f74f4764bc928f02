"""Names defined once: the environment variables labjournal reads, the files of the results store
and how a run key is shortened. No imports, so that the no-op check of `labjournal report` and
every notebook's kit read them for free."""

from __future__ import annotations

# The environment variables labjournal reads, each named once.
DATA_DIR_ENV = "LABJOURNAL_DATA"  # the offline data folder (datasets by name, downloads put by hand)
CACHE_ENV = "LABJOURNAL_CACHE"  # fingerprints and downloads (default: ~/.cache/labjournal)
KERNEL_MAX_RUNS_ENV = "LABJOURNAL_KERNEL_MAX_RUNS"  # runs a warm kernel serves before it is retired
# ... and those `labjournal run` sets for a notebook's kernel:
RUN_DIR_ENV = "LABJOURNAL_RUN_DIR"  # where record.* writes metrics.json and figures/
RUN_KEY_ENV = "LABJOURNAL_RUN_KEY"  # the run's cache key, stamped into every figure's PNG metadata
INPUTS_ENV = "LABJOURNAL_INPUTS"  # for summary notebooks: the JSON list of the runs they read
THREADS_ENV = "LABJOURNAL_THREADS"  # this worker's share of the cores
DEVICE_ENV = "LABJOURNAL_DEVICE"  # auto, cpu or cuda: where this run trains (see kit.runtime.setup)
SOURCES_ENV = "LABJOURNAL_DATA_SOURCES"  # the run's resolved datasets, as JSON (labjournal.kit.data)

# The files of the results store, named once (labjournal.results.store reads and writes them).
RUN_RECORD = "run.json"  # a run's record, written last: a run folder without it is incomplete
METRICS = "metrics.json"  # what the notebook recorded (labjournal.kit.record)
PARAMS = "params.json"
EXECUTED_NOTEBOOK = "notebook.ipynb"
INDEX = "index.json"  # the default profile's index; another profile's is index.<name>.json
EXTRA_SEEDS = "extra_seeds.json"
DECISIONS = "decisions.json"  # why each claim stopped getting seeds
READS = "reads.json"  # what a run read, as its kernel wrote it (folded into run.json)
PROGRESS_FILE = ".progress"  # a running notebook's progress (labjournal.kit.progress), never stored


BUILT = ".labjournal-build.json"  # in a site folder: the render and engine it was built from


def render_record(suffix: str = "") -> str:
    """The render record of a profile, in `.labjournal/` (labjournal.render.freshness)."""
    return f"render{suffix}.json"


def index_file(profile: str | None = None) -> str:
    """The index of a profile: `index.json` for the journal's own (None), `index.<name>.json`."""
    return INDEX if profile is None else f"index.{profile}.json"


KEY_SHORT = 16  # folder and page names of a run: runs/<key[:16]>/, runs/<key[:16]>.html
KEY_SHOWN = 8  # a run's key as a reader sees it in captions and messages


def short_key(key: str, length: int = KEY_SHORT) -> str:
    """A run key cut to a folder name (16 hex digits) or, with `length=KEY_SHOWN`, to what a caption
    shows (8)."""
    return key[:length]
