"""A plain, fast training loop over tensors in memory.

Each epoch the whole training set is put in the order of the run's batch-order generator once
(one gather), and the mini-batches are slices of that: no DataLoader, no per-sample Python, no
per-batch indexing. The optimisers take their fused update (one kernel for every parameter),
called directly after the first step (course.fused: the same update without torch.optim's
per-call bookkeeping).
Works for a single-logit binary model (BCEWithLogitsLoss) and for multi-class logits.

With a `Target`, the validation accuracy is also checked several times an epoch until it reaches
the target, so the speed of learning is measured in optimiser steps, not whole epochs. The checks
run in evaluation mode and draw no random numbers: the training itself is the same with or
without them, and their time is left out of the epoch times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn

from course.fused import Stepper
from course.models import Dropout
from labjournal.kit import progress
from labjournal.kit.flops import epoch_flops


@dataclass(frozen=True)
class Target:
    """Reach `accuracy` on the validation set; checked `checks_per_epoch` times an epoch."""

    accuracy: float
    checks_per_epoch: int = 20


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epoch_time_s: list[float] = field(default_factory=list)
    epoch_cpu_s: list[float] = field(default_factory=list)  # this process's CPU time per epoch
    batch_losses: list[list[float]] = field(default_factory=list)
    steps_per_epoch: int = 0
    steps_to_target: int | None = None  # optimiser steps until the Target was first seen reached

    @property
    def fractional_epochs_to_target(self) -> float | None:
        """Epochs (fractional: steps / steps per epoch) until the Target was first seen reached."""
        if self.steps_to_target is None or not self.steps_per_epoch:
            return None
        return self.steps_to_target / self.steps_per_epoch

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


def count_epoch_flops(
    model: nn.Module, loss_fn: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int
) -> int:
    """The FLOPs of one training epoch (labjournal.kit.flops.epoch_flops: counted, not timed),
    without moving any generator the training draws from: the count's forward passes run in
    training mode, so the dropout layers pause (they draw no masks; their products are not among
    the operations counted)."""
    dropouts = [module for module in model.modules() if isinstance(module, Dropout)]
    for dropout in dropouts:
        dropout.drawing = False
    try:
        return epoch_flops(model, loss_fn, inputs, targets, batch_size)
    finally:
        for dropout in dropouts:
            dropout.drawing = True


OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def make_optimizer(name: str, model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam, or plain SGD (no momentum), over the model's parameters, with the fused update
    where the device has one (CPU and CUDA): the same rule, one kernel instead of a dozen."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer '{name}' (use one of: {', '.join(OPTIMIZERS)})")
    parameters = list(model.parameters())
    fused = True if parameters and parameters[0].device.type in ("cpu", "cuda") else None
    return OPTIMIZERS[name](parameters, lr=lr, fused=fused)


@dataclass
class _Checks:
    """The sub-epoch checks of a Target: every `every` steps until reached; their cost apart."""

    target: Target | None
    every: int
    wall_s: float = 0.0
    cpu_s: float = 0.0

    def due(self, history: History, step: int) -> bool:
        return self.target is not None and history.steps_to_target is None and step % self.every == 0

    def check(self, history: History, step: int, model: nn.Module, loss_fn: nn.Module, val) -> None:
        started, started_cpu = time.perf_counter(), time.process_time()
        if evaluate(model, loss_fn, *val)[1] >= self.target.accuracy:
            history.steps_to_target = step
        self.wall_s += time.perf_counter() - started
        self.cpu_s += time.process_time() - started_cpu


def _epoch(model, loss_fn, stepper, train, order, batch_size, history, checks, val, step) -> int:
    """One pass over the training set in the generator's order; returns the steps taken so far."""
    inputs, targets = train
    permutation = torch.randperm(len(inputs), generator=order).to(inputs.device)
    inputs, targets = inputs[permutation], targets[permutation]  # one gather; batches are views
    model.train()
    losses = []
    for start in range(0, len(inputs), batch_size):
        logits = model(inputs[start : start + batch_size])
        loss = loss_fn(logits, _loss_target(logits, targets[start : start + batch_size]))
        stepper.zero_grad()
        loss.backward()
        stepper.step()
        losses.append(loss.detach())
        step += 1
        if checks.due(history, step):
            checks.check(history, step, model, loss_fn, val)
            model.train()
    history.batch_losses.append(torch.stack(losses).tolist())
    return step


def fit(
    model: nn.Module,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor] | None,
    *,
    epochs: int,
    batch_size: int,
    order: torch.Generator,
    target: Target | None = None,
) -> History:
    """Train for `epochs`, taking the batch order from `order` (the run's batch stream,
    course.rng); the loss and accuracy on both sets after each epoch. A `target` needs `val`."""
    if target is not None and val is None:
        raise ValueError("a target accuracy is checked on the validation set: pass `val`")
    history = History(steps_per_epoch=-(-len(train[0]) // batch_size))
    every = max(1, -(-history.steps_per_epoch // target.checks_per_epoch)) if target else 1
    checks, step, stepper = _Checks(target, every), 0, Stepper(optimizer)
    for epoch in range(epochs):
        started, started_cpu = time.perf_counter(), time.process_time()
        checks.wall_s = checks.cpu_s = 0.0
        step = _epoch(model, loss_fn, stepper, train, order, batch_size, history, checks, val, step)
        history.epoch_time_s.append(time.perf_counter() - started - checks.wall_s)
        history.epoch_cpu_s.append(time.process_time() - started_cpu - checks.cpu_s)
        train_loss, train_acc = evaluate(model, loss_fn, *train)
        history.train_loss.append(train_loss)
        history.train_accuracy.append(train_acc)
        if val is not None:
            val_loss, val_acc = evaluate(model, loss_fn, *val)
            history.val_loss.append(val_loss)
            history.val_accuracy.append(val_acc)
            if target is not None and history.steps_to_target is None and val_acc >= target.accuracy:
                history.steps_to_target = step  # the epoch's end is a check too
        progress.report(epoch + 1, epochs)
    return history
