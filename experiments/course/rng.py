"""Common random numbers: one torch generator per source of randomness in a training run.

A run draws its initial weights, its dropout masks and its batch order from three separate
generators, each seeded from the run's seed. Two settings compared at the same seed then share
whatever they can: the same initial weights where the architecture is the same (dropout 0.2
against 0.5, Adam against SGD), and always the same batch order, whatever else consumes random
numbers. With one global generator, a dropout layer would shift the batch order of every later
epoch, and the comparison would carry that noise too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

STREAMS = ("init", "dropout", "batches")


@dataclass(frozen=True)
class Streams:
    init: torch.Generator  # initial weights (`initialise`)
    dropout: torch.Generator  # dropout masks (course.models.Dropout)
    batches: torch.Generator  # the order of the training examples, epoch by epoch (course.train.fit)


def stream_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for one stream, derived from the run's seed (numpy's SeedSequence: streams
    of neighbouring seeds are unrelated)."""
    entropy = (int(seed), STREAMS.index(stream))
    words = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])


def streams(seed: int, device: torch.device | str = "cpu") -> Streams:
    """The three generators of a run with this seed. Weights are drawn on the CPU (initialise
    before moving the model) and the batch order too; dropout masks on the training device."""
    made = {
        name: torch.Generator(device=device if name == "dropout" else "cpu").manual_seed(
            stream_seed(seed, name)
        )
        for name in STREAMS
    }
    return Streams(**made)


@torch.no_grad()
def initialise(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Draw every parameter again from `generator`, with PyTorch's own default distributions
    (Linear: uniform within 1/sqrt(fan_in); Embedding: standard normal), in the model's order.
    A module with parameters of another kind is an error rather than left at the global draw."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            if module.bias is not None:
                bound = 1 / math.sqrt(module.in_features) if module.in_features > 0 else 0.0
                nn.init.uniform_(module.bias, -bound, bound, generator=generator)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, generator=generator)
        elif any(True for _ in module.parameters(recurse=False)):
            raise TypeError(f"initialise: no seeded initialisation for {type(module).__name__} ('{name}')")
    return model
