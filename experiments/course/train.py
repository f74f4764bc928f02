"""A plain, fast training loop over tensors in memory.

Mini-batches are slices of a seeded permutation: no DataLoader workers, no per-sample Python.
Works for a single-logit binary model (BCEWithLogitsLoss) and for multi-class logits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn

from labjournal.kit import progress


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epoch_time_s: list[float] = field(default_factory=list)
    epoch_cpu_s: list[float] = field(default_factory=list)  # this process's CPU time per epoch
    batch_losses: list[list[float]] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def epochs_to_reach(self, threshold: float, curve: str = "train_loss") -> int | None:
        """The first epoch (1-based) whose loss is at or below `threshold`, or None if never."""
        for epoch, loss in enumerate(getattr(self, curve), start=1):
            if loss <= threshold:
                return epoch
        return None

    def epochs_to_converge(self, within: float = 0.05, curve: str = "val_loss") -> int:
        """The first epoch (1-based) whose loss is within `within` (relative) of the run's lowest:
        how fast the run gets close to where it ends up. Never censored, unlike a fixed threshold,
        and it separates fast from slow learners where both cross a threshold in epoch 1."""
        values = getattr(self, curve)
        lowest = min(values)
        return next(epoch for epoch, value in enumerate(values, start=1) if value <= lowest * (1 + within))

    def median_epoch_cpu_s(self) -> float:
        """The median CPU time of an epoch: robust to a busy machine, unlike the wall time (other
        processes delay this one, but do not add to its CPU time)."""
        return float(torch.tensor(self.epoch_cpu_s).median()) if self.epoch_cpu_s else float("nan")

    def batch_loss_variance(self, last_epochs: int) -> float:
        """Variance of the per-batch training loss over the last epochs: how noisy training still is."""
        losses = torch.tensor([loss for epoch in self.batch_losses[-last_epochs:] for loss in epoch])
        return float(losses.var()) if len(losses) > 1 else 0.0


def predict(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    logits = model(inputs)
    if logits.shape[-1] == 1:
        return (logits.squeeze(-1) > 0).long()
    return logits.argmax(dim=-1)


def _loss_target(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return targets.float().unsqueeze(-1) if logits.shape[-1] == 1 else targets


@torch.no_grad()
def evaluate(
    model: nn.Module, loss_fn: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int = 4096
) -> tuple[float, float]:
    """Mean loss and accuracy over a whole set, in evaluation mode (dropout off)."""
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    for start in range(0, len(inputs), batch_size):
        x, y = inputs[start : start + batch_size], targets[start : start + batch_size]
        logits = model(x)
        total_loss += float(loss_fn(logits, _loss_target(logits, y))) * len(x)
        predicted = (logits.squeeze(-1) > 0).long() if logits.shape[-1] == 1 else logits.argmax(-1)
        correct += int((predicted == y).sum())
    model.train(was_training)
    return total_loss / len(inputs), correct / len(inputs)


def fit(
    model: nn.Module,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor] | None,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
) -> History:
    inputs, targets = train
    generator = torch.Generator().manual_seed(seed)
    history = History()
    for epoch in range(epochs):
        started, started_cpu = time.perf_counter(), time.process_time()
        model.train()
        order = torch.randperm(len(inputs), generator=generator)
        losses = []
        for start in range(0, len(inputs), batch_size):
            batch = order[start : start + batch_size]
            logits = model(inputs[batch])
            loss = loss_fn(logits, _loss_target(logits, targets[batch]))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        history.epoch_time_s.append(time.perf_counter() - started)
        history.epoch_cpu_s.append(time.process_time() - started_cpu)
        history.batch_losses.append(losses)
        train_loss, train_acc = evaluate(model, loss_fn, inputs, targets)
        history.train_loss.append(train_loss)
        history.train_accuracy.append(train_acc)
        if val is not None:
            val_loss, val_acc = evaluate(model, loss_fn, *val)
            history.val_loss.append(val_loss)
            history.val_accuracy.append(val_acc)
        progress.report(epoch + 1, epochs)
    return history
