"""Training a transfer model: the backbone's features frozen, a new head trained with the same
loop as every image classifier (pipeline.train)."""

from __future__ import annotations

from pathlib import Path

from pipeline.augment import Policy
from pipeline.backbones import describe
from pipeline.config import TransferParams
from pipeline.data.store import DatasetInfo, Split, relabel
from pipeline.errors import ConfigError
from pipeline.models.transfer import build
from pipeline.runtime import resolve_device, seed_everything
from pipeline.train import TrainResult
from pipeline.train_images import fit_images


def train_transfer(name: str, p: TransferParams, backbone: str | Path, train: Split, val: Split, info: DatasetInfo,
                   policy: Policy, checkpoint: str | Path, loss_csv: str | Path, accuracy_csv: str | Path) -> TrainResult:
    seed_everything(p.seed)
    device = resolve_device(p.device, f"transfer.{name}.device")
    desc = describe(backbone)
    if desc["source"] == "pipeline" and desc["spec"]["input_shape"] != info.shape:
        raise ConfigError(f"transfer.{name}.dataset: {info.dataset!r} images are {info.shape} but backbone "
                          f"{p.backbone!r} was trained on {desc['spec']['input_shape']}; use data of the same shape")
    if desc["source"] == "torchvision" and info.shape[0] != 3:
        raise ConfigError(f"transfer.{name}.dataset: {p.backbone!r} needs RGB images; {info.dataset!r} has "
                          f"{info.shape[0]} channel(s)")
    key = f"transfer.{name}.label_map"
    train, classes = relabel(train, info.classes, p.label_map, key)
    val, _ = relabel(val, info.classes, p.label_map, key)
    model = build(p, {"backbone": desc, "classes": classes}, weights=backbone)
    spec = {"input_shape": list(info.shape), "classes": classes, "mean": model.mean.flatten().tolist(),
            "std": model.std.flatten().tolist(), "backbone": desc}
    meta = {"model": name, "family": "image", "arch": "transfer", "params": p.model_dump(), "spec": spec,
            "dataset": info.dataset, "dataset_classes": list(info.classes), "label_map": p.label_map,
            "augment": vars(policy) | {"scale": list(policy.scale)}}
    return fit_images(name, f"transfer.{name}", model, p, train, val, policy, device, meta, checkpoint, loss_csv,
                      accuracy_csv)
