"""The lab models: shapes, dropout only in training, and the same seed giving the same metrics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course.models import TabularNet, image_mlp, mlp
from course.rng import initialise, streams
from course.scores import classification_scores, minority_class
from course.train import evaluate, fit, make_optimizer
from labjournal.kit.flops import parameter_count


def test_image_mlp_shapes_and_parameter_count() -> None:
    model = image_mlp(hidden_layers=2, hidden_units=32, dropout=0.5)
    assert model(torch.zeros(5, 1, 28, 28)).shape == (5, 10)
    assert parameter_count(model) == (784 * 32 + 32) + (32 * 32 + 32) + (32 * 10 + 10)
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Flatten", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]


def test_dropout_acts_in_training_mode_only() -> None:
    torch.manual_seed(0)
    model = mlp(8, 2, hidden_layers=1, hidden_units=64, dropout=0.5)
    x = torch.randn(4, 8)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


def test_unknown_activation_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        mlp(4, 2, 1, 8, activation="gelu")


def test_tabular_net_with_embeddings() -> None:
    model = TabularNet(
        n_dense=5,
        n_classes=3,
        hidden_layers=3,
        hidden_units=16,
        activation="tanh",
        embeddings={"breed": 40, "color": 7},
    )
    dense = torch.randn(6, 5)
    codes = torch.tensor([[0, 0], [39, 6], [-1, -1], [3, 2], [1, 1], [-1, 5]], dtype=torch.float32)
    out = model(torch.cat([dense, codes], dim=1))
    assert out.shape == (6, 3) and torch.isfinite(out).all()
    assert [e.num_embeddings for e in model.embeddings] == [41, 8]  # +1 row for codes never seen
    assert sum(isinstance(layer, nn.Tanh) for layer in model.body) == 3


def _train_once(seed: int) -> tuple[list[float], float]:
    rng = streams(seed)
    generator = torch.Generator().manual_seed(123)  # the data is the same for every seed
    x = torch.randn(256, 6, generator=generator)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    model = initialise(
        mlp(6, 2, hidden_layers=1, hidden_units=16, dropout=0.2, generator=rng.dropout), rng.init
    )
    loss_fn = nn.CrossEntropyLoss()
    history = fit(
        model,
        loss_fn,
        make_optimizer("adam", model, lr=0.01),
        (x[:200], y[:200]),
        (x[200:], y[200:]),
        epochs=5,
        batch_size=32,
        order=rng.batches,
    )
    return history.val_loss, evaluate(model, loss_fn, x[200:], y[200:])[1]


@pytest.mark.slow
def test_same_seed_same_metrics_other_seed_other_metrics() -> None:
    first, again, other = _train_once(0), _train_once(0), _train_once(1)
    assert first == again
    assert first[0] != other[0]


def test_scores_on_an_imbalanced_example() -> None:
    truth = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]
    always_zero = [0] * 10
    assert minority_class(truth) == 1
    scores = classification_scores(truth, always_zero, minority=1)
    assert scores["accuracy"] == pytest.approx(0.8)
    assert scores["balanced_accuracy"] == pytest.approx(0.5)
    assert scores["minority_recall"] == 0.0
    assert scores["macro_f1"] == pytest.approx((2 * 0.8 / 1.8) / 2)


@pytest.mark.slow
def test_the_backward_graph_is_the_same_however_often_it_is_drawn() -> None:
    """Nodes were keyed by id() of autograd's node wrappers, which Python may free and reuse: the
    drawing then failed with a KeyError on some torch builds. Drawn many times with garbage
    collection in between, the graph must come out the same every time."""
    import gc

    import matplotlib.pyplot as plt
    import torch

    from course.autograd import draw_graph, graph_edges

    def build() -> torch.Tensor:
        x = torch.randn(4, requires_grad=True)
        w = torch.randn(4, requires_grad=True)
        return (torch.sin(x * w) + torch.exp(x)).sum() * (w**2).sum()

    first = graph_edges(build())
    assert first[0][0] == "Mul" and sum(label.startswith("leaf") for label in first[0].values()) == 2
    for attempt in range(100):
        output = build()
        garbage = [torch.randn(3, requires_grad=True).sum() for _ in range(5)]  # churn wrappers
        del garbage
        gc.collect()
        assert graph_edges(output) == first
        if attempt % 25 == 0:
            plt.close(draw_graph(output, "check"))
