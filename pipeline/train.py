"""Training as plain functions: one epoch, one evaluation pass, and `train_model`, which keeps the
checkpoint with the lowest validation loss (the course's "save when validation loss decreases")
and stops early after `patience` epochs without one."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.augment import Policy, augment_batch
from pipeline.checkpoint import save_checkpoint
from pipeline.config import TrainParams
from pipeline.data.store import DatasetInfo, Split
from pipeline.errors import TrainingError
from pipeline.io import write_csv
from pipeline.models import build_model, predict
from pipeline.runtime import resolve_device, seed_everything

log = logging.getLogger(__name__)

OPTIMIZERS: dict[str, Callable[[Iterable[nn.Parameter], TrainParams], torch.optim.Optimizer]] = {
    "sgd": lambda ps, p: torch.optim.SGD(ps, lr=p.lr, momentum=p.momentum, weight_decay=p.weight_decay),
    "adam": lambda ps, p: torch.optim.Adam(ps, lr=p.lr, weight_decay=p.weight_decay),
    "adamw": lambda ps, p: torch.optim.AdamW(ps, lr=p.lr, weight_decay=p.weight_decay),
}


def train_one_epoch(model: nn.Module, data: Split, optimizer: torch.optim.Optimizer, batch_size: int,
                    shuffle: torch.Generator, augment: Callable[[torch.Tensor], torch.Tensor] | None) -> dict:
    """One pass over `data` in a seeded random order; returns mean loss and accuracy."""
    model.train()
    n = len(data)
    order = torch.randperm(n, generator=shuffle).to(data.labels.device)
    loss_sum = torch.zeros((), device=data.labels.device)
    correct = torch.zeros((), dtype=torch.int64, device=data.labels.device)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        x = data.images[idx].float().div_(255)
        if augment is not None:
            x = augment(x)
        y = data.labels[idx]
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        # Accumulate on the device: no host sync per batch.
        loss_sum += loss.detach() * len(idx)
        correct += (logits.detach().argmax(1) == y).sum()
    return {"loss": loss_sum.item() / n, "accuracy": correct.item() / n}


def evaluate(model: nn.Module, data: Split, batch_size: int) -> dict:
    logits = predict(model, data.images, batch_size)
    return {"loss": F.cross_entropy(logits, data.labels).item(),
            "accuracy": (logits.argmax(1) == data.labels).float().mean().item()}


@dataclass
class TrainResult:
    best_epoch: int = 0
    best_val_loss: float = float("inf")
    epochs_run: int = 0
    history: list[dict] = field(default_factory=list)


def write_curves(history: list[dict], loss_csv: str | Path, accuracy_csv: str | Path) -> None:
    for path, key in ((loss_csv, "loss"), (accuracy_csv, "accuracy")):
        write_csv(path, ["epoch", "train", "validation"],
                  [[h["epoch"], f"{h['train_' + key]:.6f}", f"{h['val_' + key]:.6f}"] for h in history])


def train_model(name: str, p: TrainParams, train: Split, val: Split, info: DatasetInfo,
                policy: Policy, checkpoint: str | Path, loss_csv: str | Path, accuracy_csv: str | Path) -> TrainResult:
    """Train model `name`, writing the best checkpoint and the per-epoch curves as it goes."""
    seed_everything(p.seed)
    device = resolve_device(p.device, f"train.{name}.device")
    model = build_model(p.arch, p, info.shape, info.classes, info.mean, info.std).to(device)
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    train_d = Split(train.images.to(device), train.labels.to(device))
    val_d = Split(val.images.to(device), val.labels.to(device))
    shuffle = torch.Generator().manual_seed(p.seed)
    aug_gen = torch.Generator().manual_seed(policy.seed)
    augment = (lambda x: augment_batch(x, policy, aug_gen)) if policy.geometric or policy.hflip > 0 else None
    meta = {"model": name, "arch": p.arch, "params": p.model_dump(), "dataset": info.dataset,
            "classes": list(info.classes), "input_shape": list(info.shape), "mean": list(info.mean),
            "std": list(info.std), "augment": vars(policy) | {"scale": list(policy.scale)}}
    log.info("%s (%s) on %s: %d train / %d val samples, %s, device %s", name, p.arch, info.dataset,
             len(train), len(val), f"{sum(t.numel() for t in model.parameters()):,} parameters", device)
    result = TrainResult()
    for epoch in range(1, p.epochs + 1):
        tr = train_one_epoch(model, train_d, optimizer, p.batch_size, shuffle, augment)
        va = evaluate(model, val_d, p.batch_size)
        result.history.append({"epoch": epoch, "train_loss": tr["loss"], "train_accuracy": tr["accuracy"],
                               "val_loss": va["loss"], "val_accuracy": va["accuracy"]})
        result.epochs_run = epoch
        improved = va["loss"] < result.best_val_loss
        if improved:
            result.best_val_loss, result.best_epoch = va["loss"], epoch
            save_checkpoint(checkpoint, model=model, optimizer=optimizer, epoch=epoch,
                            metrics={"val_loss": va["loss"], "val_accuracy": va["accuracy"]}, meta=meta)
        write_curves(result.history, loss_csv, accuracy_csv)
        log.info("epoch %3d/%d  train loss %.4f acc %.4f | val loss %.4f acc %.4f%s", epoch, p.epochs,
                 tr["loss"], tr["accuracy"], va["loss"], va["accuracy"], "  (saved)" if improved else "")
        if epoch - result.best_epoch >= p.patience:
            log.info("early stop: no lower validation loss in %d epochs", p.patience)
            break
    if not result.best_epoch:
        raise TrainingError(f"{name}: validation loss was never finite (diverged); lower train.{name}.lr")
    return result
