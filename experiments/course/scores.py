"""Classification scores beyond accuracy, for imbalanced classes."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, recall_score


def minority_class(train_labels: np.ndarray) -> int:
    """The least frequent class among those present in the training labels."""
    values, counts = np.unique(train_labels, return_counts=True)
    return int(values[np.argmin(counts)])


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray, minority: int) -> dict[str, float]:
    """accuracy, balanced accuracy, macro-F1 and the recall of the minority class."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return {
        "accuracy": float((y_true == y_pred).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "minority_recall": float(
            recall_score(y_true, y_pred, labels=[minority], average="macro", zero_division=0)
        ),
    }


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    return confusion_matrix(y_true, y_pred, labels=list(range(n_classes)))
