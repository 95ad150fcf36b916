"""Training a transfer model: the backbone's features, frozen, under a new head, trained with the
same loop as every image classifier (pipeline.training.train)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from pipeline.core.errors import ConfigError
from pipeline.core.store import relabel
from pipeline.models import build_model
from pipeline.models._torchvision import torchvision_features
from pipeline.schema.transfer import Params as TransferParams
from pipeline.training.engine.loop import Outputs, TrainResult
from pipeline.training.train import ImageData, fit_images, image_meta
from pipeline.weights.backbone_file import read_backbone, torchvision_weights
from pipeline.weights.checkpoint import load_checkpoint

if TYPE_CHECKING:  # passed in by the stage, never built here
    from pipeline.training.engine.runner import Runner


def describe(backbone: str | Path) -> dict:
    """What the backbone file holds, enough to rebuild its architecture (without weights). Reading a
    checkpoint builds its model: that draws no random numbers from the global generators."""
    data = read_backbone(backbone)
    if data is not None:
        return {"source": "torchvision", "arch": data["arch"], "weights": data["weights"]}
    with torch.random.fork_rng(devices=[]):
        _, ckpt = load_checkpoint(backbone)
    return {
        "source": "pipeline",
        "model": ckpt["model"],
        "arch": ckpt["arch"],
        "params": ckpt["params"],
        "spec": ckpt["spec"],
    }


def load_backbone_weights(model, desc: dict, backbone: str | Path) -> None:
    """The backbone file's weights into the transfer model's feature extractor (building the
    backbone draws no random numbers from the training's generator)."""
    with torch.random.fork_rng(devices=[]):
        if desc["source"] == "torchvision":
            source, _ = torchvision_features(torchvision_weights(read_backbone(backbone)), desc["arch"])
        else:
            source = nn.Sequential(*list(load_checkpoint(backbone)[0].body)[:-1])
    model.body.features.load_state_dict(source.state_dict())


def train_transfer(
    name: str,
    p: TransferParams,
    backbone: str | Path,
    data: ImageData,
    outputs: Outputs,
    runner: Runner,
) -> TrainResult:
    """Train transfer entry `name` on `data`: the backbone file's features under a new head, with the
    image loop, as `runner` says. Data whose shape or channels do not suit the backbone: ConfigError."""
    train, val, info, policy = data
    desc = describe(backbone)
    if desc["source"] == "pipeline" and desc["spec"]["input_shape"] != info.shape:
        raise ConfigError(
            f"transfer.{name}.dataset: {info.dataset!r} images are {info.shape} but backbone "
            f"{p.backbone!r} was trained on {desc['spec']['input_shape']}; use data of the same shape"
        )
    if desc["source"] == "torchvision" and info.shape[0] != 3:
        raise ConfigError(
            f"transfer.{name}.dataset: {p.backbone!r} needs RGB images; {info.dataset!r} has {info.shape[0]} channel(s)"
        )
    key = f"transfer.{name}.label_map"
    train, classes = relabel(train, info.classes, p.label_map, key)
    val, _ = relabel(val, info.classes, p.label_map, key)
    model = build_model("transfer", p, {"backbone": desc, "classes": classes})
    load_backbone_weights(model, desc, backbone)
    spec = {
        "input_shape": list(info.shape),
        "classes": classes,
        "mean": model.mean.flatten().tolist(),
        "std": model.std.flatten().tolist(),
        "backbone": desc,
    }
    meta = image_meta(name, "transfer", p, spec, info, policy)
    return fit_images(name, model, p, (train, val), policy, meta, outputs, runner)
