"""Shelter features: nothing known only at the outcome reaches the model; preprocessing and splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_shelter import CURRENT, OLDER

from course import tabular
from course.shelter import canonicalize


@pytest.fixture
def canonical() -> pd.DataFrame:
    """A few hundred synthetic animals in the current schema, with rare and unseen categories."""
    rng = np.random.default_rng(0)
    n = 400
    raw = pd.concat([CURRENT] * (n // len(CURRENT)), ignore_index=True)
    raw["Primary Breed"] = rng.choice(["Domestic Shorthair"] * 8 + ["Beagle", "Rare Hound"], n)
    raw["Outcome Status"] = rng.choice(["Adopted", "Transfer Out", "Euthanized", "Reclaimed"], n)
    raw["Intake Date"] = [f"2025-{m:02d}-01T10:00:00" for m in rng.integers(1, 13, n)]
    return canonicalize(raw)


def test_no_outcome_derived_column_reaches_the_features(canonical: pd.DataFrame) -> None:
    features = tabular.feature_frame(canonical)
    fitted = tabular.preprocessor("onehot").fit(features)
    used = set(fitted.feature_names_in_)
    assert used == {feature.name for feature in tabular.FEATURES}
    assert not used & tabular.OUTCOME_DERIVED
    # What the model sees does not change when everything known only at the outcome changes.
    scrambled = canonical.copy()
    rng = np.random.default_rng(1)
    for column in ("outcome", "adopted", "outcome_date", "altered_at_outcome"):
        scrambled[column] = rng.permutation(scrambled[column].to_numpy())
    assert not scrambled["adopted"].equals(canonical["adopted"])
    np.testing.assert_array_equal(
        fitted.transform(tabular.feature_frame(scrambled)), fitted.transform(features)
    )


def test_a_leaked_column_is_refused() -> None:
    with pytest.raises(tabular.LeakageError, match="days_in_shelter, spayed_neutered"):
        tabular.assert_no_leakage(["age_days", "spayed_neutered", "days_in_shelter"])
    tabular.assert_no_leakage(["age_days", "breed"])


def test_age_is_measured_at_intake_not_at_outcome(canonical: pd.DataFrame) -> None:
    features = tabular.feature_frame(canonical)
    expected = (canonical["intake_date"] - canonical["date_of_birth"]).dt.days.clip(lower=0)
    pd.testing.assert_series_equal(features["age_days"], expected.astype(float), check_names=False)
    assert features["age_days"].isna().any()  # missing birth dates stay missing until imputation


def test_text_features() -> None:
    features = tabular.feature_frame(canonicalize(CURRENT))
    assert features["has_name"].tolist() == [1.0, 0.0, 1.0, 0.0, 1.0]
    assert features["name_length"].tolist() == [11.0, 0.0, 4.0, 0.0, 3.0]  # "*" is not part of the name
    older = tabular.feature_frame(canonicalize(OLDER))  # "Labrador Retriever Mix", "Siamese/Domestic ..."
    assert older["breed_is_mix"].tolist() == [1.0, 0.0, 1.0]
    assert older["has_secondary_color"].tolist() == [1.0, 0.0, 0.0]


def test_rare_breeds_are_folded_and_unseen_ones_do_not_break(canonical: pd.DataFrame) -> None:
    features = tabular.feature_frame(canonical)
    counts = features["breed"].value_counts()
    rare = counts.index[counts < 60][0]
    onehot = tabular.preprocessor("onehot", min_frequency=60).fit(features)
    names = list(onehot.get_feature_names_out())
    assert not any(rare in name for name in names)
    assert any("infrequent" in name for name in names if "breed" in name)
    unseen = features.head(3).assign(breed="Never Seen Before")
    assert np.isfinite(onehot.transform(unseen)).all()

    codes = tabular.preprocessor("embedding", min_frequency=60).fit(features)
    sizes = tabular.embedding_sizes(codes)
    frequent = int((counts >= 60).sum())
    assert sizes["breed"] == frequent + 1  # the frequent breeds plus one code for all rare ones
    breed_codes = codes.transform(unseen)[:, -2]
    assert (breed_codes == -1).all()  # unseen -> -1, which the model maps to its own row


def test_preprocessing_scales_numbers_on_the_training_rows(canonical: pd.DataFrame) -> None:
    features = tabular.feature_frame(canonical)
    fitted = tabular.preprocessor("onehot").fit(features)
    transformed = pd.DataFrame(fitted.transform(features), columns=fitted.get_feature_names_out())
    month = transformed["numbers__intake_month"]
    assert month.mean() == pytest.approx(0, abs=1e-9) and month.std(ddof=0) == pytest.approx(1)


def test_targets() -> None:
    frame = canonicalize(CURRENT)
    labels, names = tabular.target(frame, "adopted")
    assert names == ["not adopted", "adopted"] and labels.tolist() == [1, 0, 1, 0, 0]
    labels, names = tabular.target(frame, "outcome")
    assert [names[i] for i in labels] == frame["outcome"].tolist()
    with pytest.raises(ValueError, match="unknown target 'species'"):
        tabular.target(frame, "species")


@pytest.mark.parametrize("fold", [-1, 0, 4])
def test_splits_are_disjoint_stratified_and_deterministic(fold: int) -> None:
    labels = np.array([0] * 700 + [1] * 300)
    split = tabular.split_indices(labels, seed=3, fold=fold)
    parts = [split.train, split.val, split.test]
    assert sum(len(p) for p in parts) == len(labels)
    assert len(np.unique(np.concatenate(parts))) == len(labels)
    for part in parts:
        assert labels[part].mean() == pytest.approx(0.3, abs=0.02)
    again = tabular.split_indices(labels, seed=3, fold=fold)
    np.testing.assert_array_equal(again.test, split.test)
    assert not np.array_equal(tabular.split_indices(labels, seed=4, fold=fold).test, split.test)


def test_the_five_folds_cover_every_row_once() -> None:
    labels = np.array([0, 1] * 250)
    tests = np.concatenate([tabular.split_indices(labels, seed=0, fold=k).test for k in range(5)])
    assert sorted(tests.tolist()) == list(range(len(labels)))
