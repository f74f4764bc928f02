"""Datasets as tensors already in memory, so training loops batch by slicing, not per sample.

Under `labjournal run` the engine has resolved each dataset (and fingerprinted it) before the
notebook started and passes the result in `LABJOURNAL_DATA_SOURCES`; opened by hand, the same
resolution runs here. Each loader records which data variant it used in the run's metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from labjournal.datasets import DataSource, resolve, sources_from_env
from labjournal.kit import record

if TYPE_CHECKING:
    import pandas as pd

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def source(name: str, want: str = "sample") -> DataSource:
    sources = sources_from_env()
    chosen = sources[name] if name in sources else resolve([name], want)[name]
    record.data(name, chosen.to_json())
    return chosen


def fashion_mnist(
    train: bool, classes: list[int] | None = None
) -> tuple[torch.Tensor, torch.Tensor, DataSource]:
    """Images as float tensors in [0, 1] of shape (N, 1, 28, 28), integer labels, and the source.

    With `classes`, only those classes are kept and labels become 0..len(classes)-1 in that order.
    """
    from torchvision.datasets import FashionMNIST

    src = source("fashion_mnist")
    dataset = FashionMNIST(root=src.root, train=train, download=False)
    images = dataset.data.unsqueeze(1).float().div_(255.0)
    labels = dataset.targets.long()
    if classes is not None:
        keep = torch.isin(labels, torch.tensor(classes))
        images, labels = images[keep], labels[keep]
        remap = torch.full((10,), -1, dtype=torch.long)
        remap[torch.tensor(classes)] = torch.arange(len(classes))
        labels = remap[labels]
    return images, labels, src


def validation_split(
    labels: torch.Tensor, val_fraction: float, seed: int = 1234
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of a stratified train/validation split, drawn with a fixed seed (not the run's), so
    every run of a grid validates on the same images."""
    from sklearn.model_selection import train_test_split  # imported here: ~0.7 s Lab 01 does not need

    everything = torch.arange(len(labels)).numpy()
    train, val = train_test_split(
        everything, test_size=val_fraction, stratify=labels.numpy(), random_state=seed
    )
    return torch.as_tensor(sorted(train)), torch.as_tensor(sorted(val))


def austin_outcomes() -> tuple[pd.DataFrame, DataSource]:
    """The Austin Animal Center outcomes as the canonical frame of `labjournal.kit.shelter`."""
    from labjournal.kit.shelter import load_outcomes

    src = source("austin_outcomes")
    return load_outcomes(src.root), src
