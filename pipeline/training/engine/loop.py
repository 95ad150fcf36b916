"""Training as plain functions, shared by every family.

`fit` is the course's loop: train an epoch, measure the validation loss, save the checkpoint
when it is the lowest so far ("save when validation loss decreases"), stop after `patience`
epochs without one, and log per-epoch curves. What an epoch is comes from the family: the
minibatch loop below (images, tables, reviews), the perceptron trick (pipeline.training.tabular) or the
stateful sequence batches of the character model (pipeline.training.charrnn).

Image classifiers (augmentation, from scratch or on a backbone) are in pipeline.training.train."""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.core.cli import EPOCH_LINE
from pipeline.core.errors import TrainingError
from pipeline.core.io import write_csv
from pipeline.core.store import Split
from pipeline.models import as_float, predict
from pipeline.training.engine.distributed import SINGLE, World, all_sum, shard

if TYPE_CHECKING:  # passed in by the family, never built here
    from pipeline.training.engine.runner import Runner
from pipeline.weights.checkpoint import save_checkpoint

log = logging.getLogger(__name__)

# optimizer name (params key `optimizer`, pipeline.schema.training) -> the optimizer over `ps` with params `p`
OPTIMIZERS: dict[str, Callable[[Iterable[nn.Parameter], Any], torch.optim.Optimizer]] = {
    "sgd": lambda ps, p: torch.optim.SGD(ps, lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay),
    "adam": lambda ps, p: torch.optim.Adam(ps, lr=p.lr, weight_decay=p.weight_decay),
    "adamw": lambda ps, p: torch.optim.AdamW(ps, lr=p.lr, weight_decay=p.weight_decay),
}


@dataclass(frozen=True)
class Objective:
    """A loss to minimise and what counts as a correct prediction, for a batch of outputs."""

    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    correct: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


MULTICLASS = Objective(F.cross_entropy, lambda out, y: out.argmax(1) == y)
BINARY = Objective(lambda out, y: F.binary_cross_entropy_with_logits(out, y.float()), lambda out, y: (out > 0) == y)


def train_one_epoch(
    model: nn.Module,
    data: Split,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    shuffle: torch.Generator,
    objective: Objective = MULTICLASS,
    prepare: Callable[[torch.Tensor], torch.Tensor] = as_float,
    clip: float | None = None,
    runner: Runner | None = None,
) -> dict:
    """One pass over `data` in a seeded random order; returns mean loss and accuracy.

    With a `runner` (pipeline.training.engine.runner): under torchrun each rank takes its shard of the
    order (the same on every rank: same seed) in batches of batch_size / ranks, so the global batch
    is `batch_size`; the forward pass and loss in the runner's autocast dtype (bf16 on a GPU), else
    float32. Inputs may stay in host memory (`prepare` then moves each batch); labels are on the
    training device."""
    model.train()
    device = data.labels.device
    world, autocast = (runner.world, runner.autocast) if runner else (SINGLE, None)
    order = torch.randperm(len(data), generator=shuffle)
    if runner:
        order = shard(order, world, batch_size, f"{runner.key}.batch_size")
    step = max(1, batch_size // world.size)
    host_order, order = order.to(data.inputs.device), order.to(device)
    precision = torch.autocast(device.type, dtype=autocast) if autocast else contextlib.nullcontext()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    for start in range(0, len(order), step):
        idx = order[start : start + step]
        y = data.labels[idx]
        with precision:
            out = model(prepare(data.inputs[host_order[start : start + step]]))
            loss = objective.loss(out, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        # Accumulate on the device: no host sync per batch.
        loss_sum += loss.detach().float() * len(idx)
        correct += objective.correct(out.detach().float(), y).sum()
    n = len(order) * world.size
    return {"loss": all_sum(loss_sum, world).item() / n, "accuracy": all_sum(correct, world).item() / n}


def evaluate(model: nn.Module, data: Split, batch_size: int, objective: Objective = MULTICLASS) -> dict:
    """{'loss', 'accuracy'} of `model` on a split, in batches, in eval mode."""
    out = predict(model, data.inputs, batch_size)
    return {
        "loss": objective.loss(out, data.labels).item(),
        "accuracy": objective.correct(out, data.labels).float().mean().item(),
    }


# The splits a training stage reads, as (option, help) pairs for pipeline.core.cli.arguments.
SPLIT_INPUTS = (("train", "training split"), ("val", "validation split"))


@dataclass(frozen=True)
class Outputs:
    """What a training writes: its best checkpoint and the per-epoch loss and accuracy curves (CSV)."""

    checkpoint: Path
    loss_csv: Path
    accuracy_csv: Path

    @classmethod
    def of(cls, args: Any) -> Outputs:
        """The outputs a training stage's command names (pipeline.core.cli.TRAINING_OUTPUTS)."""
        return cls(Path(args.checkpoint), Path(args.loss_curve), Path(args.accuracy_curve))

    @classmethod
    def under(cls, folder: str | Path) -> Outputs:
        """model.pt, loss.csv and accuracy.csv in `folder` (tests, benchmarks)."""
        return cls(Path(folder) / "model.pt", Path(folder) / "loss.csv", Path(folder) / "accuracy.csv")


def checkpoint_saver(
    path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer, meta: dict[str, Any]
) -> Callable[[int, dict], None]:
    """`fit`'s `save`: the checkpoint at `path` (weights, optimizer state, `meta`) with the epoch
    and its validation loss and accuracy, every family's the same way."""

    def save(epoch: int, va: dict) -> None:
        save_checkpoint(
            path,
            model=model,
            optimizer=optimizer,
            epoch=epoch,
            metrics={"val_loss": va["loss"], "val_accuracy": va["accuracy"]},
            meta=meta,
        )

    return save


def run_training(
    runner: Runner,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    p: Any,
    meta: dict[str, Any],
    outputs: Outputs,
    run_epoch: Callable[[], dict],
    validate: Callable[[], dict],
) -> TrainResult:
    """`fit` (`run_epoch` trains once, `validate` measures) over `p`'s epochs and patience, as `runner` says: rank 0 saves `model` (weights,
    optimizer state, `meta`) at each lowest validation loss and writes the curves; then every rank
    checks that all ended with the same weights."""
    save = checkpoint_saver(outputs.checkpoint, model, optimizer, meta)
    name = runner.key.rpartition(".")[2]
    curves = (outputs.loss_csv, outputs.accuracy_csv)
    result = fit(name, runner.key, p.epochs, p.patience, run_epoch, validate, save, *curves, runner.world)
    runner.finish(model)
    return result


@dataclass
class TrainResult:
    best_epoch: int = 0
    best_val_loss: float = float("inf")
    epochs_run: int = 0
    history: list[dict] = field(default_factory=list)


def write_curves(history: list[dict], loss_csv: str | Path, accuracy_csv: str | Path) -> None:
    """Write the per-epoch loss and accuracy, each a CSV of epoch, train, validation."""
    for path, key in ((loss_csv, "loss"), (accuracy_csv, "accuracy")):
        write_csv(
            path,
            ["epoch", "train", "validation"],
            [[h["epoch"], f"{h['train_' + key]:.6f}", f"{h['val_' + key]:.6f}"] for h in history],
        )


def fit(
    name: str,
    key: str,
    epochs: int,
    patience: int,
    run_epoch: Callable[[], dict],
    validate: Callable[[], dict],
    save: Callable[[int, dict], None],
    loss_csv: str | Path,
    accuracy_csv: str | Path,
    world: World = SINGLE,
) -> TrainResult:
    """The epoch loop: `run_epoch` trains once, `validate` measures; `save(epoch, val)` is called
    whenever the validation loss is the lowest so far. `key` (e.g. train.cnn) names the params.
    Under torchrun every rank runs the loop (validation agrees on every rank: the weights are
    the same) and only rank 0 saves, writes curves and logs."""
    result = TrainResult()
    for epoch in range(1, epochs + 1):
        tr, va = run_epoch(), validate()
        for what, value in (("training", tr["loss"]), ("validation", va["loss"])):
            if not math.isfinite(value):  # NaN weights never recover: stop rather than record them
                raise TrainingError(
                    f"{name}: the {what} loss became {value} at epoch {epoch} (training diverged); lower {key}.lr"
                )
        result.history.append(
            {
                "epoch": epoch,
                "train_loss": tr["loss"],
                "train_accuracy": tr["accuracy"],
                "val_loss": va["loss"],
                "val_accuracy": va["accuracy"],
            }
        )
        result.epochs_run = epoch
        improved = va["loss"] < result.best_val_loss
        if improved:
            result.best_val_loss, result.best_epoch = va["loss"], epoch
            if world.main:
                save(epoch, va)
        if world.main:
            write_curves(result.history, loss_csv, accuracy_csv)
            log.info(
                EPOCH_LINE,
                epoch,
                epochs,
                tr["loss"],
                tr["accuracy"],
                va["loss"],
                va["accuracy"],
                "  (saved)" if improved else "",
            )
        if epoch - result.best_epoch >= patience:
            log.info("early stop: no lower validation loss in %d epochs", patience)
            break
    return result
