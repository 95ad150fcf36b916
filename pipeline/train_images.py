"""Training image classifiers: uint8 images on the device, the seeded augmentation policy applied
to every training batch, and the shared epoch loop of pipeline.train. `train_model` trains one
from scratch; pipeline.transfer trains one on a frozen backbone with `fit_images`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pipeline.augment import Policy, augment_batch
from pipeline.checkpoint import save_checkpoint
from pipeline.config import TrainParams
from pipeline.data.store import DatasetInfo, Split, relabel
from pipeline.models import as_float, build_model, image_spec
from pipeline.runtime import resolve_device, seed_everything
from pipeline.train import MULTICLASS, OPTIMIZERS, TrainResult, evaluate, fit, train_one_epoch

log = logging.getLogger(__name__)


def fit_images(name: str, key: str, model: nn.Module, p: Any, train: Split, val: Split, policy: Policy,
               device: torch.device, meta: dict[str, Any], checkpoint: str | Path, loss_csv: str | Path,
               accuracy_csv: str | Path) -> TrainResult:
    """Train an image classifier on uint8 images with batched augmentation."""
    model.to(device)
    optimizer = OPTIMIZERS[p.optimizer]([t for t in model.parameters() if t.requires_grad], p)
    train_d = Split(train.inputs.to(device), train.labels.to(device))
    val_d = Split(val.inputs.to(device), val.labels.to(device))
    shuffle = torch.Generator().manual_seed(p.seed)
    aug_gen = torch.Generator().manual_seed(policy.seed)
    if policy.geometric or policy.hflip > 0:
        prepare = lambda x: augment_batch(as_float(x), policy, aug_gen)  # noqa: E731
    else:
        prepare = as_float
    trainable = sum(t.numel() for t in model.parameters() if t.requires_grad)
    log.info("%s (%s) on %s: %d train / %d val images, %s trainable parameters, device %s", name, meta["arch"],
             meta["dataset"], len(train), len(val), f"{trainable:,}", device)

    def save(epoch: int, va: dict) -> None:
        save_checkpoint(checkpoint, model=model, optimizer=optimizer, epoch=epoch,
                        metrics={"val_loss": va["loss"], "val_accuracy": va["accuracy"]}, meta=meta)

    return fit(name, key, p.epochs, p.patience,
               lambda: train_one_epoch(model, train_d, optimizer, p.batch_size, shuffle, MULTICLASS, prepare),
               lambda: evaluate(model, val_d, p.batch_size), save, loss_csv, accuracy_csv)


def train_model(name: str, p: TrainParams, train: Split, val: Split, info: DatasetInfo, policy: Policy,
                checkpoint: str | Path, loss_csv: str | Path, accuracy_csv: str | Path) -> TrainResult:
    """Train image model `name` from scratch."""
    seed_everything(p.seed)
    device = resolve_device(p.device, f"train.{name}.device")
    key = f"train.{name}.label_map"
    train, classes = relabel(train, info.classes, p.label_map, key)
    val, _ = relabel(val, info.classes, p.label_map, key)
    spec = image_spec(info) | {"classes": classes}
    model = build_model(p.arch, p, spec)
    meta = {"model": name, "family": "image", "arch": p.arch, "params": p.model_dump(), "spec": spec,
            "dataset": info.dataset, "dataset_classes": list(info.classes), "label_map": p.label_map,
            "augment": vars(policy) | {"scale": list(policy.scale)}}
    return fit_images(name, f"train.{name}", model, p, train, val, policy, device, meta, checkpoint, loss_csv,
                      accuracy_csv)
