"""Course lesson 2 on a table: logistic regression and a small MLP trained by gradient descent on
the log-loss, and the perceptron trained by the course's perceptron trick (move the line towards
each misclassified point by the learning rate). All standardize their inputs with the training
split's column statistics, inside the model.

Two knobs for every arch: `restarts` trains from several seeds and keeps the run with the lowest
validation loss (a small model's result depends on where it starts); `l1` (gradient descent only:
the trick has no loss) adds l1 * sum |weights| to the training loss, pushing weights to exactly 0."""

from __future__ import annotations

import logging
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from pipeline.core.errors import ConfigError
from pipeline.core.store import DatasetInfo, Split
from pipeline.models import TabularClassifier, build_model
from pipeline.training.engine.loop import (
    BINARY,
    OPTIMIZERS,
    Objective,
    TrainResult,
    evaluate,
    fit,
    train_one_epoch,
    write_curves,
)
from pipeline.training.engine.runtime import seed_everything
from pipeline.weights.checkpoint import save_checkpoint, to_cpu

log = logging.getLogger(__name__)


def perceptron_loss(score: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The perceptron criterion: how far misclassified points sit on the wrong side (0 if none)."""
    return F.relu(-(2 * y.float() - 1) * score).mean()


PERCEPTRON = Objective(perceptron_loss, lambda score, y: (score > 0) == y)


def perceptron_epoch(model: TabularClassifier, data: Split, lr: float, shuffle: torch.Generator) -> dict:
    """One pass of the perceptron trick over the points in a seeded order."""
    linear = model.body
    x = (data.inputs - model.mean) / model.std
    with torch.no_grad():
        for i in torch.randperm(len(data), generator=shuffle).tolist():
            predicted = int(linear(x[i]).item() > 0)
            step = lr * (int(data.labels[i]) - predicted)  # +lr: point is 1 but below the line; -lr: the reverse
            if step:
                linear.weight += step * x[i]
                linear.bias += step
        scores = model(data.inputs)
    return {
        "loss": perceptron_loss(scores, data.labels).item(),
        "accuracy": ((scores > 0) == data.labels).float().mean().item(),
    }


def l1_penalty(model: torch.nn.Module) -> torch.Tensor:
    """sum |w| over the weights (matrices), not the biases."""
    return sum(w.abs().sum() for w in model.parameters() if w.ndim > 1)


def with_l1(objective: Objective, model: torch.nn.Module, l1: float) -> Objective:
    """`objective` with l1 * sum |weights| added to its loss (unchanged when l1 is 0)."""
    if not l1:
        return objective
    return Objective(lambda out, y: objective.loss(out, y) + l1 * l1_penalty(model), objective.correct)


def gradient_descent(model: TabularClassifier, p: Any, train: Split, shuffle: torch.Generator):
    """The optimizer on the log-loss (plus the L1 penalty), in batches of batch_size (null: all)."""
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    objective = with_l1(BINARY, model, p.l1)
    batch = p.batch_size or len(train)  # null: full-batch gradient descent
    return optimizer, lambda: train_one_epoch(model, train, optimizer, batch, shuffle, objective)


def perceptron_trick(model: TabularClassifier, p: Any, train: Split, shuffle: torch.Generator):
    """How the perceptron learns: no optimizer, and an epoch of the perceptron trick at learning rate `lr`."""
    return None, lambda: perceptron_epoch(model, train, p.lr, shuffle)


@dataclass(frozen=True)
class Learner:
    """How an arch learns: `setup(model, params, train, shuffle)` -> (optimizer or None, one epoch),
    the objective its validation loss is measured with, and whether its score is a logit."""

    setup: Callable[[TabularClassifier, Any, Split, torch.Generator], tuple[Any, Callable[[], dict]]]
    objective: Objective
    probabilistic: bool


LEARNERS = {
    "logreg": Learner(gradient_descent, BINARY, True),
    "tabular_mlp": Learner(gradient_descent, BINARY, True),
    "perceptron": Learner(perceptron_trick, PERCEPTRON, False),
}


@dataclass
class Run:
    """One training from one seed: its result, and the model and optimizer state at its best epoch."""

    seed: int
    result: TrainResult
    model: TabularClassifier
    optimizer: Any
    best: dict


def train_run(
    name: str, key: str, p: Any, seed: int, train: Split, val: Split, spec: dict, learner: Learner, curves: Path
) -> Run:
    """One training from `seed`, its curves written under `curves`; the best epoch's state kept in memory."""
    seed_everything(seed)
    model = build_model(p.arch, p, spec)
    shuffle = torch.Generator().manual_seed(seed)
    optimizer, run_epoch = learner.setup(model, p, train, shuffle)
    best: dict = {}

    def keep(epoch: int, va: dict) -> None:  # in memory: the best run is written once, at the end
        best.update(
            epoch=epoch,
            va=va,
            model=to_cpu(model.state_dict()),
            optimizer=to_cpu(optimizer.state_dict()) if optimizer is not None else None,
        )

    result = fit(
        name,
        key,
        p.epochs,
        p.patience,
        run_epoch,
        lambda: evaluate(model, val, len(val), learner.objective),
        keep,
        curves / f"loss.{seed}.csv",
        curves / f"accuracy.{seed}.csv",
    )
    return Run(seed, result, model, optimizer, best)


def restart_spread(runs: list[Run], best: Run) -> dict:
    """What metrics/<model>.json records of the restarts (nothing for a single run)."""
    if len(runs) == 1:
        return {}
    losses = [r.result.best_val_loss for r in runs]
    return {
        "restarts": len(runs),
        "restart_best_seed": best.seed,
        "restart_val_loss_min": round(min(losses), 6),
        "restart_val_loss_max": round(max(losses), 6),
        "restart_val_loss_std": round(statistics.pstdev(losses), 6),
    }


def train_tabular(
    name: str,
    p: Any,
    train: Split,
    val: Split,
    info: DatasetInfo,
    checkpoint: str | Path,
    loss_csv: str | Path,
    accuracy_csv: str | Path,
    key: str | None = None,
) -> TrainResult:
    """Train entry `name` (params `p`, validated by its arch's schema) `p.restarts` times, with seeds
    seed, seed+1, ...; write the checkpoint and curves of the run with the lowest validation loss.
    `key` names the entry in errors (default tabular.<name>)."""
    key = key or f"tabular.{name}"
    if p.arch not in LEARNERS:
        raise ConfigError(f"{key}.arch: {p.arch!r} is not a tabular arch; tabular archs: {', '.join(LEARNERS)}")
    learner = LEARNERS[p.arch]
    spec = {
        "features": list(info.features),
        "classes": list(info.classes),
        "mean": list(info.mean),
        "std": list(info.std),
        "binary": True,
        "probabilistic": learner.probabilistic,
    }
    log.info(
        "%s (%s) on %s: %d train / %d val rows, %d features, %d run(s)",
        name,
        p.arch,
        info.dataset,
        len(train),
        len(val),
        len(info.features),
        p.restarts,
    )
    with tempfile.TemporaryDirectory() as tmp:
        runs = [train_run(name, key, p, p.seed + i, train, val, spec, learner, Path(tmp)) for i in range(p.restarts)]
    best = min(runs, key=lambda r: r.result.best_val_loss)  # the first of equals: the lowest seed
    if len(runs) > 1:
        log.info(
            "restarts: best seed %d, validation losses %s",
            best.seed,
            ", ".join(f"{r.result.best_val_loss:.4f}" for r in runs),
        )
    best.model.load_state_dict(best.best["model"])
    if best.optimizer is not None:
        best.optimizer.load_state_dict(best.best["optimizer"])
    meta = {
        "model": name,
        "family": "tabular",
        "arch": p.arch,
        "params": p.model_dump(),
        "spec": spec,
        "dataset": info.dataset,
        "metrics_extra": restart_spread(runs, best),
    }
    va = best.best["va"]
    save_checkpoint(
        checkpoint,
        model=best.model,
        optimizer=best.optimizer,
        epoch=best.best["epoch"],
        metrics={"val_loss": va["loss"], "val_accuracy": va["accuracy"]},
        meta=meta,
    )
    write_curves(best.result.history, loss_csv, accuracy_csv)
    return best.result
