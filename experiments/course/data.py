"""Fashion-MNIST as tensors already in memory, so training loops batch by slicing.

Where the files are comes from `labjournal.kit.data` (the loaders of `course.datasets`, declared
in journal.yml), which also records the data variant in the run's metrics.
"""

from __future__ import annotations

from pathlib import Path

import torch

from labjournal.kit import data
from labjournal.kit.data import DataSource

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


def fashion_mnist(
    train: bool, classes: list[int] | None = None
) -> tuple[torch.Tensor, torch.Tensor, DataSource]:
    """Images as float tensors in [0, 1] of shape (N, 1, 28, 28), integer labels, and the source.

    With `classes`, only those classes are kept and labels become 0..len(classes)-1 in that order.
    """
    from torchvision.datasets import FashionMNIST

    src = data.source("fashion_mnist")
    dataset = FashionMNIST(root=str(Path(src.root).parent.parent), train=train, download=False)
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
