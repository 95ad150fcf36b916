"""Backbone files, `models/<name>/model.pt`, as the `backbone@<name>` stage (pipeline.weights.backbone)
writes them for a torchvision architecture: its ImageNet weights, or a seeded random
initialization recorded as a recipe (not as 100 MB of random numbers). (A checkpoint of this
pipeline at the same path is a backbone too: pipeline.training.transfer reads both.) Nothing here downloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from pipeline.core.errors import DataError
from pipeline.core.io import load_verified, save_torch
from pipeline.models._torchvision import torchvision_model

KIND = "backbone"


def save_backbone(path: str | Path, arch: str, weights: str, **data: Any) -> None:
    """weights 'random' with seed=..., or 'imagenet' with source=... and state=..."""
    save_torch({"kind": KIND, "arch": arch, "weights": weights, **data}, path)


def read_backbone(path: str | Path) -> dict[str, Any] | None:
    """The backbone file's contents; None for a file that is not one (a pipeline checkpoint)."""
    try:
        data = load_verified(path, "backbone")
    except (OSError, RuntimeError) as err:
        raise DataError(f"{path}: not a readable backbone file ({err}); rerun the stage that writes it") from None
    return data if isinstance(data, dict) and data.get("kind") == KIND else None


def torchvision_weights(data: dict[str, Any]) -> nn.Module:
    """The torchvision model a backbone file describes, with its weights (ImageNet's, or the seeded
    random initialization)."""
    if data["weights"] == "random":
        return torchvision_model(data["arch"], seed=data["seed"])
    model = torchvision_model(data["arch"])
    model.load_state_dict(data["state"])
    return model
