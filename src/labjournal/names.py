"""Names defined once: the files of the results store and how a run key is shortened. No imports,
so that the no-op check of `labjournal report` and every notebook's kit read them for free."""

from __future__ import annotations

# The files of the results store, named once (labjournal.run.store reads and writes them).
RUN_RECORD = "run.json"  # a run's record, written last: a run folder without it is incomplete
METRICS = "metrics.json"  # what the notebook recorded (labjournal.kit.record)
PARAMS = "params.json"
EXECUTED_NOTEBOOK = "notebook.ipynb"
INDEX = "index.json"  # the default profile's index; another profile's is index.<name>.json
EXTRA_SEEDS = "extra_seeds.json"
DECISIONS = "decisions.json"  # why each claim stopped getting seeds
READS = "reads.json"  # what a run read, as its kernel wrote it (folded into run.json)


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
