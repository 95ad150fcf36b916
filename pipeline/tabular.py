"""Course lesson 2 on a table: logistic regression trained by gradient descent on the log-loss,
and the perceptron trained by the course's perceptron trick (move the line towards each
misclassified point by the learning rate). Both standardize their inputs with the training
split's column statistics, inside the model."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from pipeline.checkpoint import save_checkpoint
from pipeline.data.store import DatasetInfo, Split
from pipeline.models import TabularClassifier, build_model
from pipeline.runtime import seed_everything
from pipeline.schema.logreg import Params as LogRegParams
from pipeline.schema.perceptron import Params as PerceptronParams
from pipeline.train import BINARY, OPTIMIZERS, Objective, TrainResult, evaluate, fit, train_one_epoch

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
    return {"loss": perceptron_loss(scores, data.labels).item(),
            "accuracy": ((scores > 0) == data.labels).float().mean().item()}


def train_tabular(name: str, p: LogRegParams | PerceptronParams, train: Split, val: Split, info: DatasetInfo,
                  checkpoint: str | Path, loss_csv: str | Path, accuracy_csv: str | Path) -> TrainResult:
    seed_everything(p.seed)
    logreg = p.arch == "logreg"
    spec = {"features": list(info.features), "classes": list(info.classes), "mean": list(info.mean),
            "std": list(info.std), "binary": True, "probabilistic": logreg}
    model = build_model(p.arch, p, spec)
    shuffle = torch.Generator().manual_seed(p.seed)
    objective = BINARY if logreg else PERCEPTRON
    meta = {"model": name, "family": "tabular", "arch": p.arch, "params": p.model_dump(), "spec": spec,
            "dataset": info.dataset}
    if logreg:
        optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
        batch = p.batch_size or len(train)  # null: full-batch gradient descent
        run_epoch = lambda: train_one_epoch(model, train, optimizer, batch, shuffle, BINARY)  # noqa: E731
    else:
        optimizer = None
        run_epoch = lambda: perceptron_epoch(model, train, p.lr, shuffle)  # noqa: E731
    log.info("%s (%s) on %s: %d train / %d val rows, %d features", name, p.arch, info.dataset, len(train), len(val),
             len(info.features))

    def save(epoch: int, va: dict) -> None:
        save_checkpoint(checkpoint, model=model, optimizer=optimizer, epoch=epoch,
                        metrics={"val_loss": va["loss"], "val_accuracy": va["accuracy"]}, meta=meta)

    return fit(name, f"tabular.{name}", p.epochs, p.patience, run_epoch,
               lambda: evaluate(model, val, len(val), objective), save, loss_csv, accuracy_csv)
