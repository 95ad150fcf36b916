"""Training: the best-validation-loss checkpoint, early stopping, curves, determinism, and the
optimizer each family builds."""

from __future__ import annotations

import csv

import pytest
import torch

from pipeline.core.errors import TrainingError
from pipeline.core.io import load_torch
from pipeline.core.params import arch_schema
from pipeline.core.store import load_split
from pipeline.data.augment import Policy
from pipeline.training import train as train_mod
from pipeline.training.engine.loop import OPTIMIZERS
from pipeline.weights.checkpoint import load_checkpoint
from tests.conftest import small_train_params, train_image

NO_AUG = Policy(0.0, 0.0, (1.0, 1.0), 0.0, 0)


def run(store, tmp_path, params, policy=NO_AUG, name="m"):
    out = tmp_path / name
    result = train_image("m", params, store, policy, out)
    return result, out


def test_checkpoint_is_complete_and_matches_the_best_epoch(digits_store, trained_mlp):
    model, ckpt = load_checkpoint(trained_mlp)
    raw = load_torch(trained_mlp)  # weights_only=True: tensors and plain values only
    assert set(raw) >= {"model_state", "optimizer_state", "epoch", "params", "spec", "arch", "dataset", "augment"}
    assert set(raw["spec"]) == {"classes", "input_shape", "mean", "std"}
    assert ckpt["spec"]["classes"] == [str(d) for d in range(10)] and ckpt["spec"]["input_shape"] == [1, 8, 8]
    assert ckpt["params"]["hidden"] == [64] and ckpt["augment"]["rotation_deg"] == 10.0
    rows = list(csv.DictReader(open(trained_mlp.parent / "loss.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    val = [float(r["validation"]) for r in rows]
    assert ckpt["epoch"] == 1 + val.index(min(val))
    assert ckpt["metrics"]["val_loss"] == pytest.approx(min(val), abs=1e-6)
    val_split = load_split(digits_store["val"])
    acc = (model(val_split.inputs.float() / 255).argmax(1) == val_split.labels).float().mean().item()
    assert acc == pytest.approx(ckpt["metrics"]["val_accuracy"], abs=1e-6) and acc > 0.8


def test_early_stopping_keeps_the_best_epoch(digits_store, tmp_path, monkeypatch):
    losses = iter([1.0, 0.5, 0.6, 0.7, 0.4, 0.3])
    monkeypatch.setattr(train_mod, "evaluate", lambda *a: {"loss": next(losses), "accuracy": 0.5})
    result, out = run(digits_store, tmp_path, small_train_params("mlp", epochs=6, patience=2))
    assert (result.epochs_run, result.best_epoch, result.best_val_loss) == (4, 2, 0.5)
    assert load_torch(out / "model.pt")["epoch"] == 2
    assert len(list(csv.DictReader(open(out / "accuracy.csv")))) == 4


def test_divergence_is_a_clear_error(digits_store, tmp_path, monkeypatch):
    monkeypatch.setattr(train_mod, "evaluate", lambda *a: {"loss": float("nan"), "accuracy": 0.0})
    with pytest.raises(
        TrainingError, match=r"validation loss became nan at epoch 1 \(training diverged\); lower train.m.lr"
    ):
        run(digits_store, tmp_path, small_train_params("mlp", epochs=2))


def test_same_seed_same_weights_other_seed_other_weights(digits_store, tmp_path):
    policy = Policy(10.0, 0.1, (0.95, 1.05), 0.0, 3)
    states = [
        load_torch(
            run(digits_store, tmp_path, small_train_params("cnn", epochs=1, seed=s), policy, f"r{i}")[1] / "model.pt"
        )["model_state"]
        for i, s in enumerate((0, 0, 1))
    ]
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not all(torch.equal(states[0][k], states[2][k]) for k in states[0])


# What each family built for itself before they shared pipeline.training.engine.loop.OPTIMIZERS.
BEFORE = {
    "charrnn": lambda ps, p: torch.optim.Adam(ps, lr=p.lr),
    "sentiment": lambda ps, p: torch.optim.Adam(ps, lr=p.lr),
    "logreg": lambda ps, p: torch.optim.SGD(ps, lr=p.lr, weight_decay=p.weight_decay),
}


@pytest.mark.parametrize("section,name", [("charrnn", "charrnn"), ("sentiment", "sentiment"), ("tabular", "logreg")])
def test_the_optimizers_table_builds_what_each_family_built_before(real_params, section, name):
    entry = real_params[section][name]
    p = arch_schema(entry["arch"], f"{section}.{name}.arch", section).model_validate(entry)
    ours = OPTIMIZERS[p.optimizer]([torch.nn.Parameter(torch.zeros(2))], p)
    before = BEFORE[p.arch]([torch.nn.Parameter(torch.zeros(2))], p)
    assert type(ours) is type(before) and ours.defaults == before.defaults
    assert ours.defaults["lr"] == entry["lr"]
    if isinstance(before, torch.optim.SGD):
        assert ours.defaults["momentum"] == 0 and ours.defaults["weight_decay"] == entry["weight_decay"]
    else:
        assert ours.defaults["weight_decay"] == 0
