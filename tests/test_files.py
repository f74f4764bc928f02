"""Atomic writes: a failure while writing never leaves a half-written file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labjournal.files import atomic_write_json, atomic_write_text


def test_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "metrics.json"
    atomic_write_json(target, {"accuracy": 0.9})
    before = target.read_text()

    def crash(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, '{"accuracy": 0.1, "trunc')
    assert target.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_non_finite_numbers_are_refused_rather_than_written_as_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        atomic_write_json(tmp_path / "bad.json", {"loss": float("nan")})
    assert not (tmp_path / "bad.json").exists()
