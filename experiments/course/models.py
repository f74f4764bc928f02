"""The models of the labs, small and explicit."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


class LogisticRegression(nn.Module):
    """Logistic regression as a one-layer network: a linear map to one logit.

    The sigmoid lives in the loss (BCEWithLogitsLoss), which is numerically safer than applying it here.
    """

    def __init__(self, n_features: int):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear = nn.Linear(n_features, 1)

    def forward(self, x):
        return self.linear(self.flatten(x))


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


@dataclass
class _Bank:
    """Masks drawn ahead (0 or 1/(1-p)) and how many of them are used; a plain object, so that
    taking the next masks is not a module attribute assignment (nn.Module's __setattr__)."""

    masks: torch.Tensor
    used: int = 0


class Dropout(nn.Module):
    """Inverted dropout, as `nn.Dropout`, with masks drawn from its own generator (the run's
    dropout stream, course.rng), so that dropout does not move any other random draw.

    The masks are drawn `bank` entries at a time (one call to the generator, the comparison with
    `p` and the scaling done once for many batches) and each batch takes the next entries: the
    same masks a draw per batch would give in distribution, at a fraction of the calls.
    """

    def __init__(self, p: float, generator: torch.Generator | None = None, bank: int = 1 << 16):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.generator, self.bank = p, generator, bank
        self.drawing = True  # False: act as the identity without drawing (course.train.count_epoch_flops)
        self._bank = _Bank(torch.empty(0))

    def _next_mask(self, like: torch.Tensor) -> torch.Tensor:
        bank, n = self._bank, like.numel()
        if bank.used + n > len(bank.masks) or bank.masks.device != like.device:
            keep = torch.rand(
                max(self.bank, n), generator=self.generator, dtype=like.dtype, device=like.device
            )
            bank.masks, bank.used = keep.ge_(self.p).mul_(1.0 / (1.0 - self.p)), 0  # 0 or 1/(1-p)
        start = bank.used
        bank.used = start + n
        return bank.masks[start : start + n].view_as(like)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or not self.drawing:
            return x
        if self.p == 1.0:
            return x * 0.0
        return x * self._next_mask(x)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def mlp(
    n_inputs: int,
    n_outputs: int,
    hidden_layers: int,
    hidden_units: int,
    activation: str = "relu",
    dropout: float = 0.0,
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """input -> (Linear -> activation -> Dropout) x hidden_layers -> Linear to the logits.
    Dropout masks come from `generator` (the run's dropout stream), else the global generator."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{activation}' (use one of: {', '.join(ACTIVATIONS)})")
    layers: list[nn.Module] = []
    width = n_inputs
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden_units), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(Dropout(dropout, generator))
        width = hidden_units
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


def image_mlp(
    hidden_layers: int,
    hidden_units: int,
    dropout: float,
    n_classes: int = 10,
    generator: torch.Generator | None = None,
) -> nn.Sequential:
    """The Lab 02 classifier: flattened 28x28 images through an MLP with ReLU and dropout."""
    body = mlp(28 * 28, n_classes, hidden_layers, hidden_units, "relu", dropout, generator)
    return nn.Sequential(nn.Flatten(), *body)


def embedding_dim(n_codes: int) -> int:
    """A common rule of thumb (fast.ai): grows slowly with the number of categories, at most 16 here."""
    return max(2, min(16, round(1.6 * n_codes**0.56)))


class TabularNet(nn.Module):
    """An MLP over dense features plus optional embeddings of integer-coded categories.

    The input is one float tensor: the dense columns first, then one column of codes per embedded
    category (code -1 = unseen in training), so the generic training loop can slice batches of it.
    """

    def __init__(
        self,
        n_dense: int,
        n_classes: int,
        hidden_layers: int,
        hidden_units: int,
        activation: str = "relu",
        dropout: float = 0.0,
        embeddings: dict[str, int] | None = None,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        embeddings = embeddings or {}
        self.n_dense = n_dense
        self.embeddings = nn.ModuleList(
            nn.Embedding(n_codes + 1, embedding_dim(n_codes)) for n_codes in embeddings.values()
        )
        width = n_dense + sum(e.embedding_dim for e in self.embeddings)
        self.body = mlp(width, n_classes, hidden_layers, hidden_units, activation, dropout, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.embeddings:
            return self.body(x)  # all columns dense: no slicing or copying per batch
        parts = [x[:, : self.n_dense]]
        codes = x[:, self.n_dense :].long() + 1  # shift so the unseen code -1 gets row 0
        parts += [embedding(codes[:, i]) for i, embedding in enumerate(self.embeddings)]
        return self.body(torch.cat(parts, dim=1))
