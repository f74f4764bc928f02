"""Checking autograd against calculus, and drawing the graph autograd builds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch


@dataclass(frozen=True)
class GradientCase:
    name: str
    formula: str
    function: Callable[[torch.Tensor], torch.Tensor]
    analytic: Callable[[torch.Tensor], torch.Tensor]


def standard_cases(dim: int, generator: torch.Generator) -> list[GradientCase]:
    """Functions R^n -> R with gradients known in closed form."""
    a = torch.randn(dim, dim, generator=generator, dtype=torch.float64)
    w = torch.randn(dim, generator=generator, dtype=torch.float64)
    return [
        GradientCase("square norm", "f(x) = sum x_i^2", lambda x: (x**2).sum(), lambda x: 2 * x),
        GradientCase(
            "sin times exp",
            "f(x) = sum sin(x_i) exp(x_i)",
            lambda x: (torch.sin(x) * torch.exp(x)).sum(),
            lambda x: (torch.cos(x) + torch.sin(x)) * torch.exp(x),
        ),
        GradientCase("quadratic form", "f(x) = x^T A x", lambda x: x @ a @ x, lambda x: (a + a.T) @ x),
        GradientCase(
            "log-sum-exp",
            "f(x) = log sum exp(x_i)",
            lambda x: torch.logsumexp(x, dim=0),
            lambda x: torch.softmax(x, dim=0),
        ),
        GradientCase(
            "logistic loss",
            "f(x) = log(1 + exp(-w.x))",
            lambda x: torch.nn.functional.softplus(-(w @ x)),
            lambda x: -w * torch.sigmoid(-(w @ x)),
        ),
    ]


def finite_difference(
    function: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, eps: float
) -> torch.Tensor:
    """Central differences, one coordinate at a time: error O(eps^2)."""
    grad = torch.zeros_like(x)
    for i in range(len(x)):
        step = torch.zeros_like(x)
        step[i] = eps
        grad[i] = (function(x + step) - function(x - step)) / (2 * eps)
    return grad


def check_gradient(case: GradientCase, x: torch.Tensor, eps: float) -> dict[str, float | str | bool]:
    point = x.clone().requires_grad_(True)
    (autograd,) = torch.autograd.grad(case.function(point), point)
    with torch.no_grad():
        analytic = case.analytic(x)
        numeric = finite_difference(case.function, x, eps)
    return {
        "function": case.name,
        "formula": case.formula,
        "max_abs_error_vs_analytic": float((autograd - analytic).abs().max()),
        "max_abs_error_vs_finite_difference": float((autograd - numeric).abs().max()),
        "gradcheck": bool(torch.autograd.gradcheck(case.function, (point,), eps=eps, atol=1e-6)),
    }


def graph_edges(output: torch.Tensor) -> tuple[dict[int, str], list[tuple[int, int]]]:
    """Nodes and edges of the backward graph that ends in `output`. Nodes are numbered in the
    order the walk meets them, the output's own node being 0.

    Node identity: the Python objects autograd hands out for graph nodes are wrappers that may be
    freed and re-created, and a freed object's id() can be reused by another. The walk keeps every
    node it visits alive until it is done, so that while it runs each node has one wrapper and
    each id() one node; the numbers it returns stay valid after that."""
    alive: list[object] = []
    number: dict[int, int] = {}
    names: dict[int, str] = {}
    edges: list[tuple[int, int]] = []

    def node(fn: object) -> int:
        if id(fn) not in number:
            number[id(fn)] = len(alive)
            alive.append(fn)
        return number[id(fn)]

    if output.grad_fn is None:
        return names, edges
    stack = [output.grad_fn]
    node(output.grad_fn)
    while stack:
        fn = stack.pop()
        here = node(fn)
        if here in names:
            continue
        label = type(fn).__name__.replace("Backward0", "").replace("Backward1", "")
        if label == "AccumulateGrad":
            label = f"leaf {tuple(fn.variable.shape)}"
        names[here] = label
        for child, _ in fn.next_functions:
            if child is not None:
                edges.append((node(child), here))
                stack.append(child)
    return names, edges


def draw_graph(output: torch.Tensor, title: str) -> plt.Figure:
    """A layered picture of the backward graph: leaves at the bottom, the output at the top."""
    names, edges = graph_edges(output)
    depth = {0: 0}
    changed = True
    while changed:
        changed = False
        for child, parent in edges:
            wanted = depth.get(parent, 0) + 1
            if parent in depth and depth.get(child, -1) < wanted:
                depth[child] = wanted
                changed = True
    levels: dict[int, list[int]] = {}
    for node, level in depth.items():
        levels.setdefault(level, []).append(node)
    position = {}
    for level, nodes in levels.items():
        for i, node in enumerate(sorted(nodes, key=lambda n: names[n])):
            position[node] = ((i + 1) / (len(nodes) + 1), -level)
    fig, ax = plt.subplots(figsize=(6.4, 1.1 * (max(levels) + 1) + 0.6))
    for child, parent in edges:
        (x0, y0), (x1, y1) = position[child], position[parent]
        ax.annotate(
            "", xy=(x1, y1 - 0.18), xytext=(x0, y0 + 0.18), arrowprops={"arrowstyle": "->", "color": "0.4"}
        )
    for node, (x, y) in position.items():
        leaf = names[node].startswith("leaf")
        ax.text(
            x,
            y,
            names[node],
            ha="center",
            va="center",
            fontsize=9,
            bbox={"boxstyle": "round", "fc": "#dbe9f6" if leaf else "#fde8c8", "ec": "0.3"},
        )
    ax.set_ylim(-max(levels) - 0.6, 0.6)
    ax.set_xlim(0, 1)
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    return fig
