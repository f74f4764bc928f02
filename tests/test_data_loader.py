"""A journal's `loader:` runs in a child Python: the engine's import state never changes, an edited
loader is the one that runs, and a broken one is reported by dataset and loader."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from labjournal.data.datasets import Resolver, resolve
from labjournal.errors import DataUnavailableError
from labjournal.plan.schema import Dataset

LOADER = """
from labjournal.kit.data import Found
import sys
sys.path.append("/somewhere/else")  # a loader may do anything to its own interpreter

def find(variant):
    return Found("{target}", description="{words} " + variant)
"""


def _journal(tmp_path: Path, words: str) -> Resolver:
    (tmp_path / "helpers").mkdir(exist_ok=True)
    (tmp_path / "data.csv").write_text("x\n1\n")
    (tmp_path / "helpers" / "mydata.py").write_text(LOADER.format(target=tmp_path / "data.csv", words=words))
    return Resolver(tmp_path, (tmp_path / "helpers",))


def test_the_loader_runs_apart_from_the_engine(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LABJOURNAL_CACHE", str(tmp_path / "cache"))
    path_before, modules_before = list(sys.path), set(sys.modules)
    specs = {"mine": Dataset(loader="mydata:find")}
    source = resolve(_journal(tmp_path, "first"), specs, ["mine"], "sample")["mine"]
    assert source.description == "first sample" and source.root == str(tmp_path / "data.csv")
    assert sys.path == path_before and "mydata" not in sys.modules
    assert not {m for m in set(sys.modules) - modules_before if m.startswith("mydata")}
    edited = resolve(_journal(tmp_path, "edited"), specs, ["mine"], "full")["mine"]
    assert edited.description == "edited full"


def test_a_broken_loader_is_named(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LABJOURNAL_CACHE", str(tmp_path / "cache"))
    resolver = _journal(tmp_path, "x")
    with pytest.raises(
        DataUnavailableError, match=r"dataset 'mine': loader nosuch:find: No module named 'nosuch'"
    ):
        resolve(resolver, {"mine": Dataset(loader="nosuch:find")}, ["mine"], "sample")
    (tmp_path / "helpers" / "bad.py").write_text("def find(variant):\n    raise KeyError('columns')\n")
    with pytest.raises(DataUnavailableError, match=r"bad:find failed for the 'sample' variant: KeyError"):
        resolve(resolver, {"mine": Dataset(loader="bad:find")}, ["mine"], "sample")
