"""Lab 03's inputs, prepared once per split and data content: the tensors and the baselines.

Every network run on the same split (the data's content, the target, the seed or fold, the
encoding) trains on the same preprocessed arrays, and every run with the same split and class
weighting compares itself with the same baselines. Both are computed by the first run that needs
them and read back by the others (course.memo), so a grid of settings pays for them once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from course import memo, tabular
from course.scores import classification_scores, minority_class

_CODE = ("course.shelter", "course.tabular", "course.scores", "course.prepared")


@dataclass(frozen=True)
class SplitKey:
    """What one split's preparation depends on (besides the code and the libraries)."""

    fingerprint: str  # the data file's content (DataSource.fingerprint)
    target: str
    seed: int
    fold: int
    min_frequency: int

    def parts(self, **more) -> dict:
        return {**asdict(self), **more}


@dataclass(frozen=True)
class Prepared:
    """One split's arrays after preprocessing fitted on its training rows only."""

    split: tabular.Split
    labels: np.ndarray  # every row's label (index with split.train / val / test)
    class_names: list[str]
    x_train: np.ndarray
    x_val: np.ndarray
    x_test: np.ndarray
    embedded: dict[str, int]  # codes per embedded column (encoding "embedding"), else empty
    minority: int  # the smallest class among the training labels


def _prepare(canonical: pd.DataFrame, key: SplitKey, encoding: str) -> dict:
    features = tabular.feature_frame(canonical)
    labels, class_names = tabular.target(canonical, key.target)
    split = tabular.split_indices(labels, seed=key.seed, fold=key.fold)
    transformer = tabular.preprocessor(encoding, key.min_frequency).fit(features.iloc[split.train])
    x_train, x_val, x_test = (
        transformer.transform(features.iloc[rows]).astype(np.float32)
        for rows in (split.train, split.val, split.test)
    )
    embedded = tabular.embedding_sizes(transformer)
    minority = minority_class(labels[split.train])
    # Plain values only in the cache: classes of the course may be imported anew between runs.
    return {
        "split": asdict(split),
        "labels": labels,
        "class_names": class_names,
        "x": (x_train, x_val, x_test),
        "embedded": embedded,
        "minority": minority,
    }


def prepare(canonical: pd.DataFrame, key: SplitKey, encoding: str) -> Prepared:
    """The split of `key` with breed and colour encoded as `encoding` ("onehot" or "embedding")."""
    found = memo.cached(
        "shelter_split", key.parts(encoding=encoding), _CODE, lambda: _prepare(canonical, key, encoding)
    )
    split = tabular.Split(**found["split"])
    x_train, x_val, x_test = found["x"]
    return Prepared(
        split,
        found["labels"],
        found["class_names"],
        x_train,
        x_val,
        x_test,
        found["embedded"],
        found["minority"],
    )


def _baselines(canonical: pd.DataFrame, key: SplitKey, class_weights: bool) -> dict[str, float]:
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    onehot = prepare(canonical, key, "onehot")
    train_labels, truth = onehot.labels[onehot.split.train], onehot.labels[onehot.split.test]
    models = {
        "majority": DummyClassifier(strategy="most_frequent"),
        "logreg": LogisticRegression(max_iter=1000, class_weight="balanced" if class_weights else None),
    }
    scores = {}
    for prefix, model in models.items():
        model.fit(onehot.x_train, train_labels)
        predicted = model.predict(onehot.x_test)
        scores.update(
            {
                f"{prefix}_{name}": value
                for name, value in classification_scores(truth, predicted, onehot.minority).items()
            }
        )
    return scores


def baseline_scores(canonical: pd.DataFrame, key: SplitKey, class_weights: bool) -> dict[str, float]:
    """The majority-class and logistic-regression baselines of the split of `key`, fitted on the
    one-hot features of its training rows and scored on its test rows, as `majority_<score>` and
    `logreg_<score>` (course.scores); balanced class weights for the regression if asked."""
    return memo.cached(
        "shelter_baselines",
        key.parts(class_weights=bool(class_weights)),
        _CODE,
        lambda: _baselines(canonical, key, class_weights),
    )
