"""The Austin Animal Center loader: both public schemas, their quirks, and unknown schemas."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from course.shelter import CANONICAL_COLUMNS, SchemaError, canonicalize, load_outcomes
from labjournal.data.datasets import Resolver, resolve
from labjournal.errors import DataUnavailableError
from labjournal.plan.schema import Dataset

CURRENT = pd.DataFrame(
    {
        "ID": [1, 2, 3, 4, 5],
        "Outcome Date": [
            "2025-05-05T10:08:00",
            "05/06/2025 11:22:00 AM",
            "2025-05-07T17:15:00",
            "2025-05-08T09:00:00",
            "2025-05-09T09:00:00",
        ],
        "Animal ID": [10, 11, 12, 13, 14],
        "Name": ["*Honeysuckle", None, "OLLI", "Unknown", "Rex"],
        "Outcome Status": [
            "Adopted Altered",
            "Euthanized",
            "Adopted Offsite(Unaltered)",
            "Reclaimed",
            "Transfer Out",
        ],
        "Euthanasia Reason": [None, "Injured", None, None, None],
        "Type": ["Kitten", "Cat", "Dog", "Puppy", "Bird (wildlife)"],
        "Sex": ["Female", "Male", None, "Male", "Unknown"],
        "Spayed/Neutered": ["Yes", "no", "yes", "Unknown", "No"],
        "Primary Breed": ["Domestic Shorthair", "Siamese", "Labrador Retriever", "Beagle", "Pigeon"],
        "Primary Color": ["Black", "Cream", "Yellow", "Tricolor", "Gray"],
        "Secondary Color": ["White", None, None, None, None],
        "Date of Birth": [
            "03/01/2025 12:00:00 AM",
            "2020-05-05T00:00:00",
            None,
            "01/01/2024 12:00:00 AM",
            None,
        ],
        "Intake Date": [
            "04/01/2025 09:55:00 AM",
            "2025-05-01T08:00:00",
            "05/02/2025 10:00:00 AM",
            "2025-05-03T12:00:00",
            "2025-05-09T08:00:00",
        ],
        "Days in Shelter": [34, 5, 5, 5, 1],
        "Timestamp": ["03/12/2026 12:34:59 PM"] * 5,
    }
)

OLDER = pd.DataFrame(
    {
        "Animal ID": ["A1", "A2", "A3"],
        "Name": ["Max", None, "*Luna"],
        "DateTime": ["07/22/2014 04:04:00 PM", "2016-01-01T10:00:00", "12/01/2019 11:00:00 AM"],
        "MonthYear": ["07/2014", "01/2016", "12/2019"],
        "Date of Birth": ["07/07/2012", "2015-06-01", "01/01/2019"],
        "Outcome Type": ["Adoption", "Return to Owner", "Transfer"],
        "Outcome Subtype": [None, None, "Partner"],
        "Animal Type": ["Dog", "Cat", "Cat"],
        "Sex upon Outcome": ["Neutered Male", "Intact Female", "Spayed Female"],
        "Age upon Outcome": ["2 years", "7 months", "11 months"],
        "Breed": ["Labrador Retriever Mix", "Domestic Shorthair", "Siamese/Domestic Shorthair"],
        "Color": ["Black/White", "Brown Tabby", "Seal Point"],
    }
)


def test_current_schema_quirks_map_onto_the_canonical_frame() -> None:
    frame = canonicalize(CURRENT)
    assert list(frame.columns) == list(CANONICAL_COLUMNS) and frame.attrs["schema"] == "current"
    # Several "Adopted ..." variants are one outcome; the binary target folds them together.
    assert frame["outcome"].tolist() == ["Adoption", "Euthanasia", "Adoption", "Return to Owner", "Transfer"]
    assert frame["adopted"].tolist() == [True, False, True, False, False]
    assert frame["altered_at_outcome"].tolist() == ["yes", "no", "yes", "unknown", "no"]  # "Yes" and "yes"
    assert frame["animal_type"].tolist() == ["Cat", "Cat", "Dog", "Dog", "Bird (Wildlife)"]
    assert frame["sex"].tolist() == ["Female", "Male", "Unknown", "Male", "Unknown"]
    # Both date formats parse, in the same column.
    assert frame["outcome_date"].tolist()[:2] == [
        pd.Timestamp("2025-05-05 10:08"),
        pd.Timestamp("2025-05-06 11:22"),
    ]
    assert frame["date_of_birth"].tolist()[:2] == [pd.Timestamp("2025-03-01"), pd.Timestamp("2020-05-05")]
    assert frame["intake_date"].notna().all()
    # Shelter-given names lose their "*"; "Unknown" is no name.
    assert frame["name"].tolist()[:4] == ["Honeysuckle", None, "OLLI", None]


@pytest.mark.parametrize("snake_case", [False, True], ids=["title-case", "kaggle-snake-case"])
def test_older_schema_keeps_only_what_is_known_at_intake(snake_case: bool) -> None:
    raw = OLDER.rename(columns=lambda c: c.lower().replace(" ", "_")) if snake_case else OLDER
    frame = canonicalize(raw)
    assert frame.attrs["schema"] == "older"
    assert frame["outcome"].tolist() == ["Adoption", "Return to Owner", "Transfer"]
    # "Neutered Male" -> sex "Male"; the altered part is an outcome-time status, kept apart.
    assert frame["sex"].tolist() == ["Male", "Female", "Female"]
    assert frame["altered_at_outcome"].tolist() == ["yes", "no", "yes"]
    assert frame["breed"].tolist() == ["Labrador Retriever", "Domestic Shorthair", "Siamese"]
    assert frame["color"].tolist() == ["Black", "Brown Tabby", "Seal Point"]
    assert frame["secondary_color"].tolist()[0] == "White"
    assert frame["intake_date"].isna().all()  # the outcomes-only export has no intake date
    assert frame["outcome_date"].iloc[0] == pd.Timestamp("2014-07-22 16:04")


def test_both_schemas_give_the_same_columns_and_types() -> None:
    current, older = canonicalize(CURRENT), canonicalize(OLDER)
    assert list(current.columns) == list(older.columns)
    for column in ("date_of_birth", "intake_date", "outcome_date"):
        assert str(current[column].dtype).startswith("datetime64") and str(older[column].dtype).startswith(
            "datetime64"
        ), column


def test_an_unknown_schema_lists_the_columns_found_and_expected(tmp_path: Path) -> None:
    path = tmp_path / "pets.csv"
    pd.DataFrame({"pet": ["a"], "result": ["adopted"], "Breed": ["x"]}).to_csv(path, index=False)
    with pytest.raises(SchemaError) as error:
        load_outcomes(path)
    message = str(error.value)
    assert str(path) in message
    assert "Columns found: pet, result, Breed" in message
    assert "outcome_status" in message and "outcome_type" in message  # what each schema needs
    assert "sex_upon_intake or sex_upon_outcome" in message


def test_a_file_that_is_not_csv_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(b'a,b\n"unterminated,1\n')
    with pytest.raises(SchemaError, match="broken.csv"):
        load_outcomes(path)


PROJECT = Path(__file__).resolve().parent.parent


def resolve_austin_outcomes(variant: str, data: Path, monkeypatch: pytest.MonkeyPatch):
    """The showcase's dataset as the engine resolves it: journal.yml's loader, through the kit."""
    monkeypatch.setenv("LABJOURNAL_DATA", str(data))
    resolver = Resolver(PROJECT, (PROJECT / "experiments",))
    specs = {"austin_outcomes": Dataset(loader="course.datasets:austin_outcomes")}
    return resolve(resolver, specs, ["austin_outcomes"], variant)["austin_outcomes"]


def test_the_resolver_finds_a_local_csv_and_fingerprints_its_content(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "data" / "austin-animal-center"
    folder.mkdir(parents=True)
    csv = folder / "Austin_Animal_Center_Outcomes.csv"
    CURRENT.to_csv(csv, index=False)
    monkeypatch.setenv("LABJOURNAL_CACHE", str(tmp_path / "cache"))
    first = resolve_austin_outcomes("sample", tmp_path / "data", monkeypatch)
    assert first.variant == "sample" and first.root == str(csv)
    assert "5 rows, outcomes 2025-05-05 to 2025-05-09" in first.description
    CURRENT.iloc[:4].to_csv(csv, index=False)
    assert resolve_austin_outcomes("sample", tmp_path / "data", monkeypatch).fingerprint != first.fingerprint


def test_missing_data_says_where_it_looked(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LABJOURNAL_CACHE", str(tmp_path / "cache"))

    # The loader runs in a child Python: offline there means every connection goes to a closed port.
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(DataUnavailableError) as error:
        resolve_austin_outcomes("sample", tmp_path / "nothing-here", monkeypatch)
    message = str(error.value)
    assert "could not be downloaded" in message and "refused" in message.lower()
    assert "nothing-here" in message and "LABJOURNAL_DATA" in message
    assert not (tmp_path / "cache" / "austin-animal-center" / "Austin_Animal_Center_Outcomes.csv").exists()
