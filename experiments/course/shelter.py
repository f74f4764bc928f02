"""Austin Animal Center outcomes in either public schema, mapped onto one canonical frame.

The city has published two schemas: the current one (2025+: `Outcome Status`, `Type`, `Sex`,
`Spayed/Neutered`, `Primary Breed`, `Intake Date`, ...) and the older one, also used by the
Kaggle copies (`Outcome Type`, `Animal Type`, `Sex upon Outcome`, `Breed`, `Color`, `DateTime`,
..., in Title Case or snake_case). Both become the same columns, so the features, the target and
the tests do not care which file was read:

    animal_id, name, animal_type, sex, breed, breed_text, color, secondary_color,
    date_of_birth, intake_date, outcome, adopted, outcome_date, altered_at_outcome

`outcome`, `adopted`, `outcome_date` and `altered_at_outcome` are known only when the animal
leaves; `course.tabular` keeps them out of the features.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from course import memo
from labjournal.kit import data
from labjournal.kit.data import DataSource

CANONICAL_COLUMNS = (
    "animal_id",
    "name",
    "animal_type",
    "sex",
    "breed",
    "breed_text",
    "color",
    "secondary_color",
    "date_of_birth",
    "intake_date",
    "outcome",
    "adopted",
    "outcome_date",
    "altered_at_outcome",
)

OUTCOME_CLASSES = ("Adoption", "Transfer", "Return to Owner", "Euthanasia", "Died", "Other")

# Required columns of each schema, after normalising names (lower case, spaces and slashes to "_").
# A tuple means "one of these".
CURRENT_SCHEMA: dict[str, str | tuple[str, ...]] = {
    "outcome": "outcome_status",
    "animal_type": "type",
    "sex": "sex",
    "breed": "primary_breed",
    "color": "primary_color",
    "date_of_birth": "date_of_birth",
    "intake_date": "intake_date",
    "outcome_date": "outcome_date",
}
OLDER_SCHEMA: dict[str, str | tuple[str, ...]] = {
    "outcome": "outcome_type",
    "animal_type": "animal_type",
    "sex": ("sex_upon_intake", "sex_upon_outcome"),
    "breed": "breed",
    "color": "color",
    "outcome_date": ("datetime", "outcome_datetime"),
}


class SchemaError(ValueError):
    """A file that is neither public schema; the message lists what was found and expected."""


def normalise_name(column: str) -> str:
    return re.sub(r"[\s/]+", "_", str(column).strip().lower())


def _find(columns: Iterable[str], wanted: str | tuple[str, ...]) -> str | None:
    options = (wanted,) if isinstance(wanted, str) else wanted
    return next((option for option in options if option in columns), None)


def detect_schema(columns: Iterable[str]) -> str:
    """'current' or 'older'; a SchemaError naming the missing columns otherwise."""
    names = {normalise_name(c) for c in columns}
    missing_by_schema = {}
    for label, schema in (("current", CURRENT_SCHEMA), ("older", OLDER_SCHEMA)):
        missing = [
            w if isinstance(w, str) else " or ".join(w) for w in schema.values() if not _find(names, w)
        ]
        if not missing:
            return label
        missing_by_schema[label] = missing
    found = ", ".join(str(c) for c in columns) or "no columns"
    raise SchemaError(
        "not an Austin Animal Center outcomes table in a known schema.\n"
        f"  Columns found: {found}\n"
        f"  Current schema (2025+) lacks: {', '.join(missing_by_schema['current'])}\n"
        f"  Older schema (2013-2025, Kaggle) lacks: {', '.join(missing_by_schema['older'])}"
    )


def canonical_outcome(raw: pd.Series) -> pd.Series:
    """Fold the many spellings ("Adopted Altered", "Adopted Offsite(Unaltered)", "Adoption", ...)
    onto the six outcome classes."""
    text = raw.astype("string").str.strip().str.lower()
    rules = [
        ("Adoption", text.str.startswith("adopt")),
        ("Return to Owner", text.str.contains(r"reclaim|return(?:ed)? to owner|redemption|^rto", regex=True)),
        ("Transfer", text.str.startswith("transfer")),
        ("Euthanasia", text.str.startswith("euthan")),
        ("Died", text.str.contains(r"death|died|doa|disposal", regex=True)),
    ]
    result = pd.Series("Other", index=raw.index, dtype="object")
    decided = pd.Series(False, index=raw.index)
    for label, mask in rules:
        mask = mask.fillna(False).astype(bool) & ~decided
        result[mask] = label
        decided |= mask
    result[text.isna()] = np.nan
    return result


def _dates(values: pd.Series) -> pd.Series:
    # Both "05/05/2020 12:00:00 AM" and "2025-05-05T10:08:00" occur, sometimes in one column.
    return pd.to_datetime(values, errors="coerce", format="mixed")


def _tidy(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.mask(text.isna() | (text == ""), None).astype("object")


def _young_to_species(values: pd.Series) -> pd.Series:
    text = _tidy(values).str.title()
    return text.replace({"Kitten": "Cat", "Puppy": "Dog"})


def _sex_only(values: pd.Series) -> pd.Series:
    """'Neutered Male' -> 'Male': the altered part is the animal's status at outcome (a leak)."""
    text = _tidy(values).str.lower()
    sex = pd.Series("Unknown", index=values.index, dtype="object")
    sex[text.str.contains(r"\bfemale\b", regex=True).fillna(False).astype(bool)] = "Female"
    sex[text.str.contains(r"\bmale\b", regex=True).fillna(False).astype(bool)] = "Male"
    return sex


def _altered(values: pd.Series) -> pd.Series:
    text = _tidy(values).str.lower()
    altered = pd.Series("unknown", index=values.index, dtype="object")
    altered[
        text.isin(["yes", "y", "true"]) | text.str.contains("neutered|spayed", regex=True).fillna(False)
    ] = "yes"
    altered[text.isin(["no", "n", "false"]) | text.str.contains("intact", regex=True).fillna(False)] = "no"
    return altered


def _strip_breed(text: pd.Series) -> pd.Series:
    first = text.str.split("/").str[0].str.replace(r"\s+Mix$", "", regex=True, case=False)
    return first.str.strip()


def canonicalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Map a raw outcomes table (either schema) onto `CANONICAL_COLUMNS`."""
    schema = detect_schema(frame.columns)
    raw = frame.rename(columns=normalise_name)
    raw = raw.loc[:, ~raw.columns.duplicated()]

    def column(*names: str) -> pd.Series:
        found = _find(raw.columns, names)
        return raw[found] if found else pd.Series(None, index=raw.index, dtype="object")

    out = pd.DataFrame(index=raw.index)
    out["animal_id"] = _tidy(column("animal_id", "animal_id_outcome"))
    name = _tidy(column("name")).str.lstrip("*").str.strip()
    name = name.mask(name.str.lower().isin(["", "unknown", "nan"]).fillna(False).astype(bool))
    out["name"] = name.astype("object").where(name.notna(), None)
    out["animal_type"] = _young_to_species(column("type", "animal_type"))
    if schema == "current":
        out["sex"] = _sex_only(column("sex"))
        breed_text = _tidy(column("primary_breed"))
        out["breed"] = _strip_breed(breed_text)
        out["breed_text"] = breed_text
        out["color"] = _tidy(column("primary_color"))
        out["secondary_color"] = _tidy(column("secondary_color"))
        out["intake_date"] = _dates(column("intake_date"))
        out["altered_at_outcome"] = _altered(column("spayed_neutered"))
    else:
        out["sex"] = _sex_only(column("sex_upon_intake", "sex_upon_outcome"))
        breed_text = _tidy(column("breed"))
        out["breed"] = _strip_breed(breed_text)
        out["breed_text"] = breed_text
        colors = _tidy(column("color")).str.split("/")
        out["color"] = colors.str[0].str.strip()
        out["secondary_color"] = colors.str[1].str.strip()
        out["intake_date"] = _dates(column("intake_datetime"))
        out["altered_at_outcome"] = _altered(column("sex_upon_outcome"))
    out["date_of_birth"] = _dates(column("date_of_birth"))
    out["outcome"] = canonical_outcome(column("outcome_status", "outcome_type"))
    out["adopted"] = out["outcome"] == "Adoption"
    out["outcome_date"] = _dates(column("outcome_date", "datetime", "outcome_datetime"))
    result = out.loc[out["outcome"].notna(), list(CANONICAL_COLUMNS)].reset_index(drop=True)
    result.attrs["schema"] = schema
    return result


def load_outcomes(path: str | Path) -> pd.DataFrame:
    """Read an outcomes CSV in either schema; errors name the file."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=True)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise SchemaError(f"{path}: cannot read as CSV ({exc})") from exc
    try:
        canonical = canonicalize(frame)
    except SchemaError as exc:
        raise SchemaError(f"{path}: {exc}") from None
    return canonical


def austin_outcomes() -> tuple[pd.DataFrame, DataSource]:
    """The Austin Animal Center outcomes declared in journal.yml, as the canonical frame: read
    and cleaned once per content of the file (course.memo), then read back from the cache."""
    src = data.source("austin_outcomes")
    parts = {"fingerprint": src.fingerprint}
    return memo.cached("shelter_canonical", parts, ("course.shelter",), lambda: load_outcomes(src.root)), src
