"""Transfer learning (course lesson 4, part 8): a backbone's features, frozen, and a new head.
The backbone is the pipeline's own trained model or a torchvision architecture
(pipeline.backbones); a checkpoint records which, so the whole model can be rebuilt."""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from pipeline.backbones import features
from pipeline.models import ImageClassifier


class TransferBody(nn.Module):
    def __init__(self, extractor: nn.Module, feature_dim: int, head: Sequence[int], num_classes: int,
                 dropout: float, freeze: bool) -> None:
        super().__init__()
        self.features = extractor
        self.freeze = freeze
        layers: list[nn.Module] = []
        width = feature_dim
        for size in head:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, num_classes))
        self.head = nn.Sequential(*layers)
        if freeze:
            for param in self.features.parameters():
                param.requires_grad_(False)

    def train(self, mode: bool = True) -> "TransferBody":
        super().train(mode)
        if self.freeze:  # a frozen backbone keeps its batch-norm statistics and skips dropout
            self.features.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.flatten(self.features(x), 1))


def build(p, spec: dict[str, Any], weights: str | None = None) -> ImageClassifier:
    extractor, dim, mean, std = features(spec["backbone"], weights)
    return ImageClassifier(TransferBody(extractor, dim, p.head, len(spec["classes"]), p.dropout, p.freeze), mean, std)
