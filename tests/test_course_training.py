"""The showcase's training: common random numbers, dropout's own stream, FLOPs counted without
moving it, speed measured in steps, fused optimisers, and work done once per input content."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
import torch
from test_tabular import canonical  # noqa: F401  (a fixture)
from torch import nn

from course import memo
from course.fused import Stepper
from course.models import Dropout, TabularNet, image_mlp, mlp
from course.prepared import SplitKey, baseline_scores, prepare
from course.rng import initialise, stream_seed, streams
from course.train import Target, count_epoch_flops, fit, make_optimizer


def _weights(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_the_three_streams_are_reproducible_and_apart() -> None:
    seeds = {stream_seed(seed, name) for seed in (0, 1) for name in ("init", "dropout", "batches")}
    assert len(seeds) == 6
    first, again = streams(3), streams(3)
    assert torch.equal(torch.rand(5, generator=first.batches), torch.rand(5, generator=again.batches))
    assert not torch.equal(torch.rand(5, generator=first.init), torch.rand(5, generator=first.dropout))


def test_same_seed_same_initial_weights_whatever_the_dropout_rate() -> None:
    torch.manual_seed(123)  # the global generator is not what initialises
    low = initialise(image_mlp(1, 32, 0.0), streams(0).init)
    torch.manual_seed(456)
    high = initialise(image_mlp(1, 32, 0.5), streams(0).init)
    other = initialise(image_mlp(1, 32, 0.5), streams(1).init)
    assert all(torch.equal(a, b) for a, b in zip(_weights(low), _weights(high), strict=True))
    assert not torch.equal(_weights(low)[0], _weights(other)[0])
    bound = 1 / 784**0.5  # PyTorch's default: uniform within 1/sqrt(fan_in)
    assert _weights(low)[0].abs().max() <= bound and _weights(low)[0].abs().max() > 0.9 * bound


def test_initialise_refuses_a_module_it_cannot_seed() -> None:
    with pytest.raises(TypeError, match="no seeded initialisation for Conv1d"):
        initialise(nn.Sequential(nn.Conv1d(1, 1, 3)), streams(0).init)


def test_dropout_draws_only_from_its_own_generator() -> None:
    layer = Dropout(0.25, torch.Generator().manual_seed(7))
    twin = Dropout(0.25, torch.Generator().manual_seed(7))
    x = torch.ones(64, 256)
    state = torch.get_rng_state()
    out = layer(x)
    assert torch.equal(torch.get_rng_state(), state)  # the global generator did not move
    assert torch.equal(out, twin(x))
    assert out.unique().tolist() == [0.0, pytest.approx(1 / 0.75)]
    assert (out == 0).float().mean().item() == pytest.approx(0.25, abs=0.02)
    assert not torch.equal(layer(x), out)  # the next batch gets the next masks
    layer.eval()
    assert torch.equal(layer(x), x)


def test_counting_flops_leaves_the_dropout_stream_where_it_was() -> None:
    x, y = torch.randn(100, 6), torch.randint(0, 2, (100,))
    counted = mlp(6, 2, 1, 16, dropout=0.5, generator=torch.Generator().manual_seed(1))
    plain = mlp(6, 2, 1, 16, dropout=0.5, generator=torch.Generator().manual_seed(1))
    plain.load_state_dict(counted.state_dict())
    flops = count_epoch_flops(counted, nn.CrossEntropyLoss(), x, y, batch_size=32)
    # per example: forward 2*(6*16 + 16*2), backward 2*6*16 (weights only: the input needs no
    # gradient) + 2*2*16*2 (weights and hidden units)
    assert flops == 100 * (2 * (6 * 16 + 16 * 2) + 2 * 6 * 16 + 2 * 2 * 16 * 2)
    counted.train(), plain.train()
    assert torch.equal(counted(x), plain(x))


def _problem() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(123)
    x = torch.randn(640, 6, generator=generator)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return (x[:512], y[:512]), (x[512:], y[512:])


def _train(dropout: float, target: Target | None = None, seed: int = 0):
    rng = streams(seed)
    model = initialise(mlp(6, 2, 1, 16, dropout=dropout, generator=rng.dropout), rng.init)
    train, val = _problem()
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        make_optimizer("adam", model, 0.01),
        train,
        val,
        epochs=3,
        batch_size=32,
        order=rng.batches,
        target=target,
    )
    return history, rng


def test_settings_compared_at_one_seed_share_the_batch_order() -> None:
    (_, no_dropout), (_, dropout) = _train(0.0), _train(0.5)
    assert torch.equal(no_dropout.batches.get_state(), dropout.batches.get_state())
    assert not torch.equal(no_dropout.dropout.get_state(), dropout.dropout.get_state())


def test_speed_is_measured_in_steps_and_the_checks_do_not_change_training() -> None:
    checked, _ = _train(0.2, Target(accuracy=0.9, checks_per_epoch=16))
    unchecked, _ = _train(0.2)
    assert checked.val_loss == unchecked.val_loss and checked.batch_losses == unchecked.batch_losses
    assert checked.steps_per_epoch == 16 and checked.steps_to_target is not None
    whole = next(epoch for epoch, acc in enumerate(checked.val_accuracy, 1) if acc >= 0.9)
    assert checked.fractional_epochs_to_target == checked.steps_to_target / 16
    assert checked.fractional_epochs_to_target <= whole
    never, _ = _train(0.2, Target(accuracy=1.01))
    assert never.steps_to_target is None and never.fractional_epochs_to_target is None


def test_a_target_needs_a_validation_set() -> None:
    model = mlp(6, 2, 1, 4)
    with pytest.raises(ValueError, match="validation set"):
        fit(
            model,
            nn.CrossEntropyLoss(),
            make_optimizer("sgd", model, 0.1),
            _problem()[0],
            None,
            epochs=1,
            batch_size=32,
            order=torch.Generator(),
            target=Target(0.5),
        )


def test_optimisers_take_the_fused_update() -> None:
    model = mlp(6, 2, 1, 4)
    assert make_optimizer("adam", model, 0.01).defaults["fused"] is True
    assert make_optimizer("sgd", model, 0.01).defaults["fused"] is True
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        make_optimizer("rmsprop", model, 0.01)


def _steps(optimizer_of, take_step, steps: int = 5) -> list[torch.Tensor]:
    """Train a fresh small model `steps` steps; its weights and the optimiser's state after."""
    model = initialise(mlp(6, 3, 1, 8), streams(0).init)
    optimizer = optimizer_of(model)
    x, y = torch.randn(32, 6, generator=torch.Generator().manual_seed(1)), torch.arange(32) % 3
    for _ in range(steps):
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        take_step(optimizer)
    state = [t for s in optimizer.state.values() for t in s.values() if isinstance(t, torch.Tensor)]
    return _weights(model) + state


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_the_direct_fused_step_is_torch_optims_step_bit_for_bit(name: str) -> None:
    steppers: list[Stepper] = []

    def direct(optimizer):
        if not steppers:
            steppers.append(Stepper(optimizer))
        steppers[0].step()

    by_torch = _steps(lambda model: make_optimizer(name, model, 0.05), lambda optimizer: optimizer.step())
    by_stepper = _steps(lambda model: make_optimizer(name, model, 0.05), direct)
    assert steppers[0].direct
    assert all(torch.equal(a, b) for a, b in zip(by_torch, by_stepper, strict=True))
    assert not torch.equal(by_torch[0], _weights(initialise(mlp(6, 3, 1, 8), streams(0).init))[0])


def test_the_stepper_leaves_other_optimisers_to_torch_optim() -> None:
    model = mlp(6, 3, 1, 8)
    assert not Stepper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, fused=True)).direct
    assert not Stepper(torch.optim.Adam(model.parameters(), lr=0.1)).direct  # not fused
    assert not Stepper(torch.optim.Adam(model.parameters(), lr=0.1, amsgrad=True, fused=True)).direct
    assert not Stepper(torch.optim.AdamW(model.parameters(), lr=0.1, fused=True)).direct
    hooked = make_optimizer("adam", model, 0.1)
    hooked.register_step_post_hook(lambda *args: None)
    assert not Stepper(hooked).direct
    stepper = Stepper(make_optimizer("adam", model, 0.1))
    model(torch.randn(2, 6)).sum().backward()
    stepper.step()
    stepper.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    assert all(state["step"].item() == 1 for state in stepper.optimizer.state.values())


def test_tabular_net_without_embeddings_passes_the_input_straight_through() -> None:
    model = TabularNet(5, 3, 1, 8)
    x = torch.randn(4, 5)
    torch.testing.assert_close(model(x), model.body(x))


def test_memo_computes_once_per_key(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LABJOURNAL_CACHE", str(tmp_path))
    calls: list[int] = []

    def compute(value: int):
        calls.append(value)
        return {"value": np.arange(value)}

    code = ("course.memo",)
    first = memo.cached("demo", {"n": 3}, code, lambda: compute(3))
    again = memo.cached("demo", {"n": 3}, code, lambda: compute(3))
    other = memo.cached("demo", {"n": 4}, code, lambda: compute(4))
    assert calls == [3, 4]
    np.testing.assert_array_equal(first["value"], again["value"])
    assert len(other["value"]) == 4
    for path in (tmp_path / "course" / "demo").iterdir():
        path.write_bytes(b"not a pickle")  # a damaged entry is computed again
    memo.cached("demo", {"n": 3}, code, lambda: compute(3))
    assert calls == [3, 4, 3]
    assert not list((tmp_path / "course" / "demo").glob("*.part"))


def test_memo_computes_once_when_two_runs_ask_at_the_same_time(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LABJOURNAL_CACHE", str(tmp_path))
    calls: list[str] = []

    def compute() -> dict:
        calls.append("computed")
        time.sleep(0.3)  # the other run asks meanwhile
        return {"value": 42}

    results: list[dict] = []
    runs = [
        threading.Thread(
            target=lambda: results.append(memo.cached("slow", {"n": 1}, ("course.memo",), compute))
        )
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert calls == ["computed"] and results == [{"value": 42}, {"value": 42}]


def test_a_split_and_its_baselines_are_prepared_once(canonical, tmp_path, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("LABJOURNAL_CACHE", str(tmp_path))
    key = SplitKey("content-sha", "outcome", seed=0, fold=-1, min_frequency=5)
    onehot = prepare(canonical, key, "onehot")
    assert len(onehot.x_train) == len(onehot.split.train) and onehot.x_train.dtype == np.float32
    assert onehot.embedded == {} and onehot.class_names[0] == "Adoption"
    embedded = prepare(canonical, key, "embedding")
    assert set(embedded.embedded) == {"breed", "color"}
    scores = baseline_scores(canonical, key, class_weights=True)
    assert {"majority_balanced_accuracy", "logreg_minority_recall"} <= set(scores)
    monkeypatch.setattr("course.tabular.preprocessor", None)  # a second call must not preprocess
    empty = pd.DataFrame()  # nor read the table
    again = prepare(empty, key, "onehot")
    np.testing.assert_array_equal(again.x_test, onehot.x_test)
    assert baseline_scores(empty, key, class_weights=True) == scores
    with pytest.raises(TypeError):
        prepare(canonical, SplitKey("content-sha", "outcome", 1, -1, 5), "onehot")  # another split
