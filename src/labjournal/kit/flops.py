"""Compute counted, not timed: the floating-point operations of training, from PyTorch's own
flop counter (`torch.utils.flop_counter.FlopCounterMode`), and parameters counted. Needs torch
(`pip install 'labjournal[torch]'`).

Wall time changes with whatever else the machine runs; the operations a model needs do not. The
count covers the forward and backward passes of the matrix products and convolutions (what the
counter knows), not the optimiser's element-wise update, and is the same on every seed.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def parameter_count(model: nn.Module) -> int:
    """The trainable parameters of a model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def step_flops(model: nn.Module, loss_fn: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> int:
    """FLOPs of one forward and backward pass over `inputs` (the gradients are discarded)."""
    was_training = model.training
    model.train()
    with FlopCounterMode(display=False) as counter:
        logits = model(inputs)
        target = targets.float().unsqueeze(-1) if logits.shape[-1] == 1 else targets
        loss_fn(logits, target).backward()
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return int(counter.get_total_flops())


def epoch_flops(
    model: nn.Module, loss_fn: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, batch_size: int
) -> int:
    """FLOPs of one training epoch over `inputs` in mini-batches of `batch_size`: every full
    batch costs the same, the last one is counted at its own size."""
    full, rest = divmod(len(inputs), batch_size)
    total = 0
    if full:
        total += full * step_flops(model, loss_fn, inputs[:batch_size], targets[:batch_size])
    if rest:
        total += step_flops(model, loss_fn, inputs[:rest], targets[:rest])
    return total
