"""Model registry. The architecture named `x` lives in `pipeline/models/x.py`, whose
`build(params, spec)` returns the complete model, and its params in `pipeline/schema/x.py`; both
are imported only when used, so a stage (and its DVC deps) touches only its own model's code. `spec` holds
what the data decides (input shape, classes, normalization, vocabulary size...), and is stored
in the checkpoint beside the params, so any checkpoint can be rebuilt.

Input normalization is part of every model (`ImageClassifier`, `TabularClassifier`), so
training, evaluation and every exported format run the same forward pass on raw inputs."""

from __future__ import annotations

import importlib
from typing import Any, Sequence

import torch
from torch import nn

from pipeline.core.params import arch_schema


class ImageClassifier(nn.Module):
    """Images scaled to [0, 1] -> per-channel normalization -> the network -> logits."""

    def __init__(self, body: nn.Module, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.body = body
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images in [0, 1] -> (B, classes) logits."""
        return self.body((x - self.mean) / self.std)


class TabularClassifier(nn.Module):
    """Raw table rows -> standardized with the training split's column statistics -> one logit."""

    def __init__(self, body: nn.Module, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.body = body
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, F) raw rows -> (B,) scores of class 1."""
        return self.body((x - self.mean) / self.std).squeeze(-1)


def build_model(arch: str, params: Any, spec: dict[str, Any]) -> nn.Module:
    """Architecture `arch` from its params and `spec`, untrained; an unknown arch: ConfigError naming the known ones."""
    arch_schema(arch, "arch")  # an unknown name is an error that lists the registered ones
    return importlib.import_module(f"pipeline.models.{arch}").build(params, spec)


def rebuild(arch: str, params: dict[str, Any], spec: dict[str, Any]) -> nn.Module:
    """The architecture a checkpoint describes (its arch, params and spec), without its weights."""
    return build_model(arch, arch_schema(arch, "arch").model_validate(params), spec)


def image_spec(info) -> dict[str, Any]:
    """What an image model needs from its dataset's stats (pipeline.core.store.DatasetInfo)."""
    return {
        "input_shape": list(info.shape),
        "classes": list(info.classes),
        "mean": list(info.mean),
        "std": list(info.std),
    }


def as_float(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float in [0, 1]; anything else unchanged (tables, token codes)."""
    return x.float().div_(255) if x.dtype == torch.uint8 else x


@torch.no_grad()
def predict(model: nn.Module, inputs: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Model outputs for stored inputs (uint8 images, float rows or token codes), in batches, in eval mode."""
    model.eval()
    device = next(model.parameters()).device  # inputs may wait in host memory (pipeline.training.engine.accelerate)
    return torch.cat(
        [
            model(as_float(inputs[i : i + batch_size].to(device, non_blocking=True)))
            for i in range(0, len(inputs), batch_size)
        ]
    )
