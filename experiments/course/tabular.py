"""Features of the shelter data known when an animal arrives, and their preprocessing.

Every feature is listed in `FEATURES` with the reason it is allowed; `feature_frame` builds only
those and refuses any column known only at the outcome (`OUTCOME_DERIVED`). The preprocessing is
a scikit-learn `ColumnTransformer` fitted on the training rows only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from course.shelter import OUTCOME_CLASSES

# Columns (canonical or raw, normalised) that are known only when the animal leaves the shelter.
OUTCOME_DERIVED = frozenset(
    {
        "outcome",
        "adopted",
        "outcome_date",
        "outcome_status",
        "outcome_type",
        "outcome_subtype",
        "euthanasia_reason",
        "days_in_shelter",
        "spayed_neutered",
        "altered_at_outcome",
        "sex_upon_outcome",
        "age_upon_outcome",
    }
)


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # "category", "high-cardinality category", "number", "flag"
    source: str
    treatment: str
    why: str


FEATURES = (
    Feature(
        "animal_type",
        "category",
        "Type / Animal Type",
        "one-hot",
        "Species is recorded at intake; wildlife is never adopted.",
    ),
    Feature(
        "sex",
        "category",
        "Sex (sex part of Sex upon Outcome)",
        "one-hot",
        "Known at intake. The spayed/neutered part is dropped: it is the status at outcome.",
    ),
    Feature(
        "breed",
        "high-cardinality category",
        "Primary Breed / Breed",
        "one-hot or embedding, rare breeds folded",
        "Recorded at intake; hundreds of values, most of them rare.",
    ),
    Feature(
        "color",
        "high-cardinality category",
        "Primary Color / Color",
        "one-hot or embedding, rare colours folded",
        "Recorded at intake.",
    ),
    Feature(
        "age_days",
        "number",
        "Intake Date - Date of Birth",
        "log(1 + days), median-imputed, scaled",
        "Age at arrival, not at outcome (age at outcome grows with the stay).",
    ),
    Feature(
        "intake_month",
        "number",
        "Intake Date",
        "month 1-12, scaled",
        "Arrival season (kitten season in spring and summer).",
    ),
    Feature(
        "name_length",
        "number",
        "Name",
        "characters, scaled",
        "Text feature; names given later by staff are a mild leak risk (marked * and stripped).",
    ),
    Feature("has_name", "flag", "Name", "0/1", "Animals arriving with a name often have an owner."),
    Feature(
        "breed_is_mix",
        "flag",
        "Breed",
        '"Mix" or "/" in the breed text',
        "Text feature; the current schema records only the primary breed, so it is rarely set there.",
    ),
    Feature("has_secondary_color", "flag", "Secondary Color / Color", "0/1", "Recorded at intake."),
)

CATEGORIES = ["animal_type", "sex"]
HIGH_CARDINALITY = ["breed", "color"]
NUMBERS = ["age_days", "intake_month", "name_length"]
FLAGS = ["has_name", "breed_is_mix", "has_secondary_color"]


class LeakageError(ValueError):
    """A feature that is known only at the outcome."""


def assert_no_leakage(columns: list[str] | pd.Index) -> None:
    leaked = sorted(set(columns) & OUTCOME_DERIVED)
    if leaked:
        raise LeakageError(f"outcome-derived columns must not be features: {', '.join(leaked)}")


def feature_frame(canonical: pd.DataFrame) -> pd.DataFrame:
    """The features of `FEATURES`, computed from intake-time columns only."""
    age = (canonical["intake_date"] - canonical["date_of_birth"]).dt.days
    name = canonical["name"].astype("string")
    frame = pd.DataFrame(
        {
            "animal_type": canonical["animal_type"],
            "sex": canonical["sex"],
            "breed": canonical["breed"],
            "color": canonical["color"],
            "age_days": age.clip(lower=0).astype(float),
            "intake_month": canonical["intake_date"].dt.month.astype(float),
            "name_length": name.str.len().fillna(0).astype(float),
            "has_name": name.notna().astype(float),
            "breed_is_mix": canonical["breed_text"]
            .astype("string")
            .str.contains(r"\bmix\b|/", case=False, regex=True)
            .fillna(False)
            .astype(float),
            "has_secondary_color": canonical["secondary_color"].notna().astype(float),
        },
        index=canonical.index,
    )
    frame = frame[[feature.name for feature in FEATURES]]
    assert_no_leakage(frame.columns)
    return frame


def target(canonical: pd.DataFrame, kind: str) -> tuple[np.ndarray, list[str]]:
    """Integer labels and class names: 'adopted' (binary) or 'outcome' (the six classes)."""
    if kind == "adopted":
        return canonical["adopted"].astype(int).to_numpy(), ["not adopted", "adopted"]
    if kind == "outcome":
        codes = pd.Categorical(canonical["outcome"], categories=list(OUTCOME_CLASSES)).codes
        return codes.astype(int), list(OUTCOME_CLASSES)
    raise ValueError(f"unknown target '{kind}' (use 'adopted' or 'outcome')")


def preprocessor(encoding: str, min_frequency: int = 20) -> ColumnTransformer:
    """One-hot everything ('onehot'), or one-hot the small categoricals and give breed and colour
    integer codes for embedding layers ('embedding'). Codes go last, as columns of floats."""
    low = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="Unknown"),
        OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=min_frequency, sparse_output=False),
    )
    numbers = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]
    )
    age = make_pipeline(FunctionTransformer(np.log1p, feature_names_out="one-to-one"), numbers)
    if encoding == "onehot":
        high = low
    elif encoding == "embedding":
        high = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="Unknown"),
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, min_frequency=min_frequency),
        )
    else:
        raise ValueError(f"unknown encoding '{encoding}' (use 'onehot' or 'embedding')")
    return ColumnTransformer(
        [
            ("categories", low, CATEGORIES),
            ("age", age, ["age_days"]),
            ("numbers", numbers, ["intake_month", "name_length"]),
            ("flags", "passthrough", FLAGS),
            ("codes" if encoding == "embedding" else "high_cardinality", high, HIGH_CARDINALITY),
        ],
        sparse_threshold=0.0,
    )


def embedding_sizes(fitted: ColumnTransformer) -> dict[str, int]:
    """Number of codes per embedded column (frequent categories + one for the folded rare ones)."""
    if "codes" not in fitted.named_transformers_:
        return {}
    encoder = fitted.named_transformers_["codes"][-1]
    sizes = {}
    for column, categories, rare in zip(
        HIGH_CARDINALITY, encoder.categories_, encoder.infrequent_categories_, strict=True
    ):
        n_rare = 0 if rare is None else len(rare)
        sizes[column] = len(categories) - n_rare + (1 if n_rare else 0)
    return sizes


@dataclass
class Split:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_indices(
    labels: np.ndarray,
    seed: int,
    fold: int = -1,
    n_folds: int = 5,
    test_size: float = 0.2,
    val_size: float = 0.15,
) -> Split:
    """Stratified train/validation/test indices. `fold` < 0: a random hold-out test set drawn with
    `seed`; `fold` = k: the k-th of `n_folds` stratified folds (shuffled with `seed`) is the test set.
    The validation set is carved from the rest in both cases."""
    everything = np.arange(len(labels))
    if fold < 0:
        rest, test = train_test_split(everything, test_size=test_size, stratify=labels, random_state=seed)
    else:
        folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        rest, test = list(folds.split(everything, labels))[fold]
    train, val = train_test_split(rest, test_size=val_size, stratify=labels[rest], random_state=seed)
    return Split(np.sort(train), np.sort(val), np.sort(test))
