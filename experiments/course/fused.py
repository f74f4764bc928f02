"""An optimiser's fused update, called without torch.optim's per-call bookkeeping.

`torch.optim.Adam(fused=True)` and `SGD(fused=True)` update every parameter in one kernel, but each
`step()` first goes through Python: the grad-mode and profiler wrappers, the hooks, gathering the
state lists and grouping the tensors by device. For the labs' small models that costs about as
much as the kernel and the model's own backward pass together (~0.1 ms a step). `Stepper` lets
torch.optim take the first step (which creates the state), then calls the same kernel with the
same arguments on the same state tensors: the same update, bit for bit, and the optimiser's state
stays where torch.optim keeps it. Anything else (another optimiser, several parameter groups,
hooks, amsgrad, momentum, a parameter without a gradient) takes the optimiser's own `step()`.
"""

from __future__ import annotations

import torch
from torch.optim.optimizer import _global_optimizer_post_hooks, _global_optimizer_pre_hooks

_ADAM_PLAIN = {"amsgrad": False, "maximize": False, "capturable": False, "differentiable": False}
_SGD_PLAIN = {"momentum": 0, "maximize": False, "differentiable": False, "nesterov": False}


def _plain(optimizer: torch.optim.Optimizer) -> bool:
    """One group of fused updates on one device and dtype, no hooks, the options `Stepper` passes."""
    if len(optimizer.param_groups) != 1 or not optimizer.param_groups[0].get("fused"):
        return False
    if optimizer._optimizer_step_pre_hooks or optimizer._optimizer_step_post_hooks:
        return False
    if _global_optimizer_pre_hooks or _global_optimizer_post_hooks:
        return False
    group = optimizer.param_groups[0]
    if len({(p.device, p.dtype) for p in group["params"]}) != 1 or isinstance(group["lr"], torch.Tensor):
        return False
    if type(optimizer) is torch.optim.Adam:
        return not group.get("decoupled_weight_decay") and all(group[k] == v for k, v in _ADAM_PLAIN.items())
    if type(optimizer) is torch.optim.SGD:
        return all(group[k] == v for k, v in _SGD_PLAIN.items())
    return False


class Stepper:
    """`zero_grad()` (gradients set to None) and `step()` of `optimizer`, as torch.optim does them."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.optimizer = optimizer
        self.params: list[torch.Tensor] = [p for group in optimizer.param_groups for p in group["params"]]
        self.direct = _plain(optimizer)
        self._state: tuple[list[torch.Tensor], ...] | None = None  # Adam's, after its first step

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        grads = [p.grad for p in self.params]
        if not self.direct or any(g is None for g in grads):
            self.optimizer.step()
            return
        group = self.optimizer.param_groups[0]
        if isinstance(self.optimizer, torch.optim.SGD):
            torch._fused_sgd_(
                self.params, grads, [], weight_decay=group["weight_decay"], momentum=0.0, lr=group["lr"],
                dampening=group["dampening"], nesterov=False, maximize=False, is_first_step=False,
                grad_scale=None, found_inf=None,
            )  # fmt: skip
        elif self._state is None:  # torch.optim's own first step creates the state
            self.optimizer.step()
            states = [self.optimizer.state[p] for p in self.params]
            self._state = tuple([s[name] for s in states] for name in ("exp_avg", "exp_avg_sq", "step"))
        else:
            exp_avgs, exp_avg_sqs, steps = self._state
            beta1, beta2 = group["betas"]
            torch._foreach_add_(steps, 1)
            torch._fused_adam_(
                self.params, grads, exp_avgs, exp_avg_sqs, [], steps, amsgrad=False, lr=group["lr"],
                beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                maximize=False, grad_scale=None, found_inf=None,
            )  # fmt: skip
