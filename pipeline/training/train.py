"""Training image classifiers: uint8 images on the device, the seeded augmentation policy applied
to every training batch, and the shared epoch loop of pipeline.training.engine.loop. `train_model` trains one
from scratch; pipeline.training.transfer trains one on a frozen backbone with `fit_images`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
from torch import nn

from pipeline.core.store import DatasetInfo, Split, load_split, read_info, relabel
from pipeline.data.augment import Policy, augment_batch
from pipeline.models import as_float, build_model, image_spec
from pipeline.schema.training import ImageModel
from pipeline.training.engine.loop import (
    MULTICLASS,
    OPTIMIZERS,
    SPLIT_INPUTS,
    Outputs,
    TrainResult,
    evaluate,
    run_training,
    train_one_epoch,
)

if TYPE_CHECKING:  # passed in by the stage, never built here
    from pipeline.training.engine.runner import Runner

log = logging.getLogger(__name__)


def fit_images(
    name: str,
    model: nn.Module,
    p: Any,
    splits: tuple[Split, Split],
    policy: Policy,
    meta: dict[str, Any],
    outputs: Outputs,
    runner: Runner,
) -> TrainResult:
    """Train an image classifier on uint8 images (`splits`: training, validation) with batched
    augmentation, as `runner` says (device, precision, ranks)."""
    train, val = splits
    model = runner.model(model)
    optimizer = OPTIMIZERS[p.optimizer]([t for t in model.parameters() if t.requires_grad], p)
    trainer = runner.trainer(model)  # trains; `model` is what is saved and validated
    train_d, val_d = runner.place(train), runner.place(val)
    shuffle = torch.Generator().manual_seed(p.seed)
    aug_gen = runner.generator(policy.seed)
    augments = policy.geometric or policy.hflip > 0

    def prepare(x: torch.Tensor) -> torch.Tensor:
        x = as_float(runner.accel.to_device(x))
        return runner.accel.prepare_input(augment_batch(x, policy, aug_gen) if augments else x)

    trainable = sum(t.numel() for t in model.parameters() if t.requires_grad)
    log.info(
        "%s (%s) on %s: %d train / %d val images, %s trainable parameters, %s",
        name,
        meta["arch"],
        meta["dataset"],
        len(train),
        len(val),
        f"{trainable:,}",
        runner.describe(),
    )
    epochs = (
        lambda: train_one_epoch(trainer, train_d, optimizer, p.batch_size, shuffle, MULTICLASS, prepare, runner=runner),
        lambda: evaluate(model, val_d, p.batch_size),
    )
    return run_training(runner, model, optimizer, p, meta, outputs, *epochs)


# The inputs of an image training stage (train, train_transfer), as (option, help) pairs for
# pipeline.core.cli.arguments; `ImageData.of` loads them.
IMAGE_INPUTS = (*SPLIT_INPUTS, ("stats", "dataset stats JSON"), ("policy", "augmentation policy JSON"))


class ImageData(NamedTuple):
    """What an image training reads: its training and validation splits, the dataset's stats and
    the augmentation policy."""

    train: Split
    val: Split
    info: DatasetInfo
    policy: Policy

    @classmethod
    def of(cls, args: Any) -> ImageData:
        """The files the command line names (IMAGE_INPUTS), loaded."""
        return cls(load_split(args.train), load_split(args.val), read_info(args.stats), Policy.load(args.policy))


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
    data: ImageData,
    outputs: Outputs,
    runner: Runner,
) -> TrainResult:
    """Train image model `name` from scratch on `data`, as `runner` says (started from `p`'s device
    and seed: in this process, or as one rank under torchrun)."""
    train, val, info, policy = data
    key = f"train.{name}.label_map"
    train, classes = relabel(train, info.classes, p.label_map, key)
    val, _ = relabel(val, info.classes, p.label_map, key)
    spec = image_spec(info) | {"classes": classes}
    model = build_model(p.arch, p, spec)
    meta = image_meta(name, p.arch, p, spec, info, policy)
    return fit_images(name, model, p, (train, val), policy, meta, outputs, runner)
