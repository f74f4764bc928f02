"""The records that cross a stage or a file, defined once, as strict models: what a run leaves
(its record and its error), a row of the results index, verdicts, extra seeds and why a claim
stopped getting seeds. Every stage may import this module; it imports none of them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

KEY_SHORT = 16  # folder and page names of a run: runs/<key[:16]>/, runs/<key[:16]>.html
KEY_SHOWN = 8  # a run's key as a reader sees it in captions and messages


def short_key(key: str, length: int = KEY_SHORT) -> str:
    """A run key cut to a folder name (16 hex digits) or, with `length=KEY_SHOWN`, to what a caption
    shows (8)."""
    return key[:length]


class StrictModel(BaseModel):
    """The one base of every model read from a file the author writes or labjournal keeps: an
    unknown field is an error, and values are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


# -- results: index rows, verdicts ----------------------------------------------------------------


# -- runs: run record, run error, extra seeds, decisions ------------------------------------------
