"""Model registry. An architecture named `x` in `pipeline.config.ARCH_PARAMS` lives in
`pipeline/models/x.py`, whose `build(params, input_shape, num_classes)` returns the network; it is
imported only when used, so a stage (and its DVC deps) touches only its own model's code.

Every image model is wrapped in `ImageClassifier`, which normalizes its input itself, so training,
evaluation and every exported format run the same forward pass on images scaled to [0, 1]."""

from __future__ import annotations

import importlib
from typing import Sequence

import torch
from torch import nn

from pipeline.config import ARCH_PARAMS, TrainParams


class ImageClassifier(nn.Module):
    """Per-channel normalization with the training split's statistics, then the network."""

    def __init__(self, body: nn.Module, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.body = body
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body((x - self.mean) / self.std)


def build_body(arch: str, params: TrainParams, input_shape: Sequence[int], num_classes: int) -> nn.Module:
    if arch not in ARCH_PARAMS:
        raise KeyError(f"unknown model {arch!r}; registered models: {', '.join(sorted(ARCH_PARAMS))}")
    return importlib.import_module(f"pipeline.models.{arch}").build(params, input_shape, num_classes)


def build_model(arch: str, params: TrainParams, input_shape: Sequence[int], classes: Sequence[str],
                mean: Sequence[float], std: Sequence[float]) -> ImageClassifier:
    return ImageClassifier(build_body(arch, params, input_shape, len(classes)), mean, std)


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Logits for uint8 images (N, C, H, W), in batches, in eval mode."""
    model.eval()
    return torch.cat([model(images[i:i + batch_size].float().div_(255)) for i in range(0, len(images), batch_size)])
