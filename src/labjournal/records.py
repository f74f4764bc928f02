"""The records that cross a stage or a file, defined once: run keys and how they are shortened,
verdicts, why a claim stopped getting seeds. Every stage may import this module; it imports none."""

from __future__ import annotations

KEY_SHORT = 16  # folder and page names of a run: runs/<key[:16]>/, runs/<key[:16]>.html
KEY_SHOWN = 8  # a run's key as a reader sees it in captions and messages


def short_key(key: str, length: int = KEY_SHORT) -> str:
    """A run key cut to a folder name (16 hex digits) or, with `length=KEY_SHOWN`, to what a caption
    shows (8)."""
    return key[:length]
