"""The JSON Schemas of journal.yml and claims.yml: generated from the models that validate the files,
kept up to date in schemas/ (and in the scaffold a new journal is made from), named on the first line
of the showcase's and the scaffold's files, and strict enough that an editor flags a misspelt key."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from labjournal.authoring import schemas
from labjournal.claims.file import Trend
from labjournal.plan.schema import Notebook

ROOT = Path(__file__).resolve().parents[1]
SCAFFOLD = ROOT / "src" / "labjournal" / "scaffold"
FILES = {  # the files an author writes, and which schema each names
    ROOT / "journal.yml": "journal",
    ROOT / "report" / "claims.yml": "claims",
    SCAFFOLD / "journal.yml": "journal",
    SCAFFOLD / "report" / "claims.yml": "claims",
}


def _validator(which: str) -> Draft202012Validator:
    schema = schemas.json_schema(which)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.mark.parametrize("folder", [ROOT / "schemas", SCAFFOLD / "schemas"], ids=["project", "scaffold"])
def test_the_schema_files_are_what_the_models_generate(folder: Path) -> None:
    for which in schemas.SCHEMAS:
        written = (folder / schemas.file_name(which)).read_text(encoding="utf-8")
        assert written == schemas.schema_text(which), (
            f"{folder / schemas.file_name(which)} is out of date: "
            f"python -m labjournal.authoring.schemas {folder.relative_to(ROOT)}"
        )


@pytest.mark.parametrize("path", list(FILES), ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_each_file_names_its_schema_on_its_first_line_and_validates_against_it(path: Path) -> None:
    which = FILES[path]
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, f"{path}: first line {first!r}"
    named = (path.parent / match.group(1)).resolve()
    assert named.is_file() and named.name == schemas.file_name(which), named
    errors = list(_validator(which).iter_errors(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_a_misspelt_key_is_flagged_where_it_stands() -> None:
    plan = yaml.safe_load((ROOT / "journal.yml").read_text(encoding="utf-8"))
    wrong = copy.deepcopy(plan)
    wrong["profiles"]["quick"]["seed"] = wrong["profiles"]["quick"].pop("seeds")
    errors = list(_validator("journal").iter_errors(wrong))
    assert [list(e.absolute_path) for e in errors] == [["profiles", "quick"]]
    assert "'seed' was unexpected" in errors[0].message
    claims = yaml.safe_load((ROOT / "report" / "claims.yml").read_text(encoding="utf-8"))
    claim_id, claim = next(iter(claims["claims"].items()))
    part = next(iter(claim["expect"].values()))
    part = part[0][next(iter(part[0]))] if isinstance(part, list) else part
    part["metirc"] = part.pop("metric")
    errors = list(_validator("claims").iter_errors(claims))
    assert errors and all(list(e.absolute_path)[:2] == ["claims", claim_id] for e in errors)
    messages = [m for e in errors for m in _messages(e)]
    assert any("'metirc' was unexpected" in m for m in messages), messages


def _messages(error) -> list[str]:
    """An error's message and those of its causes (under anyOf, the branch that almost matched)."""
    return [error.message, *(m for cause in error.context or () for m in _messages(cause))]


def test_every_key_the_models_accept_has_a_description_in_the_schema() -> None:
    for which, root in schemas.SCHEMAS.items():
        schema = schemas.json_schema(which)
        parts = {root.__name__: schema, **schema["$defs"]}
        for model in schemas.models_of(root):
            properties = parts[model.__name__]["properties"]
            assert sorted(properties) == sorted(model.model_fields), model.__name__
            undescribed = [name for name, prop in properties.items() if not prop.get("description")]
            assert not undescribed, f"{which}: {model.__name__}: {undescribed}"


def test_descriptions_come_from_the_models_source_comments_then_the_notes() -> None:
    notes = schemas.field_notes(Notebook)
    assert "glob patterns relative to the project" in notes["deps"]  # the comment above the field
    assert notes["path"] == schemas.NOTES[("Notebook", "path")]
    assert "sensitivity table" in schemas.field_notes(Trend)["across"]  # inherited, with its comment
    assert schemas.field_notes(Trend)["metric"] == schemas.NOTES[("_Measure", "metric")]
    models = [m for root in schemas.SCHEMAS.values() for m in schemas.models_of(root)]
    known = {(k.__name__, f) for m in models for k in m.__mro__ for f in getattr(k, "model_fields", {})}
    stale = [key for key in schemas.NOTES if key not in known]
    assert not stale, f"NOTES name fields the models do not have: {stale}"


def test_labjournal_schema_prints_the_schema_an_editor_validates_with(capsys) -> None:
    """`labjournal schema journal` validates the showcase's journal.yml and rejects a misspelt key;
    `labjournal schema claims` is the claims file's."""
    import json

    from labjournal.cli import main

    assert main(["schema", "journal"]) == 0
    printed = json.loads(capsys.readouterr().out)
    validator = Draft202012Validator(printed)
    plan = yaml.safe_load((ROOT / "journal.yml").read_text(encoding="utf-8"))
    assert not list(validator.iter_errors(plan))
    plan["default_profil"] = plan.pop("default_profile")
    assert any("'default_profil' was unexpected" in e.message for e in validator.iter_errors(plan))
    assert main(["schema", "claims"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "labjournal report/claims.yml"
