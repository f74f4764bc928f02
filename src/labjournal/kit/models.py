"""The models of the labs, small and explicit."""

from __future__ import annotations

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


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
