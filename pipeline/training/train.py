"""Training image classifiers: uint8 images on the device, the seeded augmentation policy applied
to every training batch, and the shared epoch loop of pipeline.training.loop. `train_model` trains one
from scratch; pipeline.training.transfer trains one on a frozen backbone with `fit_images`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pipeline.data.augment import Policy, augment_batch
from pipeline.data.store import DatasetInfo, Split, relabel
from pipeline.models import as_float, build_model, image_spec
from pipeline.schema.runtime import AccelerateParams
from pipeline.schema.training import ImageModel
from pipeline.training.accelerate import Accelerator
from pipeline.training.distributed import check_in_sync, joined, wrap
from pipeline.training.loop import MULTICLASS, OPTIMIZERS, TrainResult, checkpoint_saver, evaluate, fit, train_one_epoch
from pipeline.training.runtime import resolve_device, seed_everything

log = logging.getLogger(__name__)


def fit_images(
    name: str,
    key: str,
    model: nn.Module,
    p: Any,
    splits: tuple[Split, Split],
    policy: Policy,
    device: torch.device,
    meta: dict[str, Any],
    outputs: tuple[str | Path, str | Path, str | Path],
    accelerate: AccelerateParams,
) -> TrainResult:
    """Train an image classifier on uint8 images (`splits`: training, validation) with batched
    augmentation, on this process's device (pipeline.training.accelerate) and, under torchrun, as
    one DDP rank of its world; `outputs`: the checkpoint, the loss curve, the accuracy curve."""
    (train, val), (checkpoint, loss_csv, accuracy_csv) = splits, outputs
    with joined(device) as world:
        device = world.device(device)
        accel = Accelerator.for_device(device, accelerate, conv=any(isinstance(m, nn.Conv2d) for m in model.modules()))
        accel.prepare_model(model)
        optimizer = OPTIMIZERS[p.optimizer]([t for t in model.parameters() if t.requires_grad], p)
        runner = accel.runner(wrap(model, world, device))  # trains; `model` is what is saved and validated
        if world.active:
            torch.manual_seed(p.seed + world.rank)  # each rank its own dropout masks (DDP synced the weights)
        train_d, val_d = accel.place(train), accel.place(val)
        shuffle = torch.Generator().manual_seed(p.seed)
        aug_gen = torch.Generator().manual_seed(policy.seed + world.rank)
        augments = policy.geometric or policy.hflip > 0

        def prepare(x: torch.Tensor) -> torch.Tensor:
            x = as_float(accel.to_device(x))
            return accel.prepare_input(augment_batch(x, policy, aug_gen) if augments else x)

        trainable = sum(t.numel() for t in model.parameters() if t.requires_grad)
        log.info(
            "%s (%s) on %s: %d train / %d val images, %s trainable parameters, device %s%s%s",
            name,
            meta["arch"],
            meta["dataset"],
            len(train),
            len(val),
            f"{trainable:,}",
            device,
            f", {accel.autocast} autocast" if accel.autocast else "",
            f", {world.size} ranks" if world.active else "",
        )

        result = fit(
            name,
            key,
            p.epochs,
            p.patience,
            lambda: train_one_epoch(
                runner,
                train_d,
                optimizer,
                p.batch_size,
                shuffle,
                MULTICLASS,
                prepare,
                world=world,
                autocast=accel.autocast,
            ),
            lambda: evaluate(model, val_d, p.batch_size),
            checkpoint_saver(checkpoint, model, optimizer, meta),
            loss_csv,
            accuracy_csv,
            world,
        )
        check_in_sync(model, world)
        return result


def image_meta(name: str, arch: str, p: Any, spec: dict, info: DatasetInfo, policy: Policy) -> dict[str, Any]:
    """What an image classifier's checkpoint records besides its weights (train and transfer alike)."""
    return {
        "model": name,
        "family": "image",
        "arch": arch,
        "params": p.model_dump(),
        "spec": spec,
        "dataset": info.dataset,
        "dataset_classes": list(info.classes),
        "label_map": p.label_map,
        "augment": vars(policy) | {"scale": list(policy.scale)},
    }


def train_model(
    name: str,
    p: ImageModel,
    train: Split,
    val: Split,
    info: DatasetInfo,
    policy: Policy,
    checkpoint: str | Path,
    loss_csv: str | Path,
    accuracy_csv: str | Path,
    accelerate: AccelerateParams,
) -> TrainResult:
    """Train image model `name` from scratch: in this process, or as one rank under torchrun."""
    seed_everything(p.seed)
    device = resolve_device(p.device, f"train.{name}.device")
    key = f"train.{name}.label_map"
    train, classes = relabel(train, info.classes, p.label_map, key)
    val, _ = relabel(val, info.classes, p.label_map, key)
    spec = image_spec(info) | {"classes": classes}
    model = build_model(p.arch, p, spec)
    meta = image_meta(name, p.arch, p, spec, info, policy)
    outputs = (checkpoint, loss_csv, accuracy_csv)
    return fit_images(name, f"train.{name}", model, p, (train, val), policy, device, meta, outputs, accelerate)
