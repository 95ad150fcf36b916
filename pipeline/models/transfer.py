"""Transfer learning (course lesson 4, part 8): a backbone's features, frozen, and a new head.
The backbone is the pipeline's own trained model or a torchvision architecture; the spec records
which (`spec["backbone"]`), so the whole model can be rebuilt. Built without weights: training
loads the backbone's into `body.features`, evaluation the checkpoint's into the whole."""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from pipeline.models import ImageClassifier, rebuild
from pipeline.models._torchvision import IMAGENET_MEAN, IMAGENET_STD, torchvision_features, torchvision_model


class TransferBody(nn.Module):
    def __init__(
        self,
        extractor: nn.Module,
        feature_dim: int,
        head: Sequence[int],
        num_classes: int,
        dropout: float,
        freeze: bool,
    ) -> None:
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
        """Set training mode, but a frozen backbone stays in eval mode (batch-norm statistics kept, no dropout)."""
        super().train(mode)
        if self.freeze:  # a frozen backbone keeps its batch-norm statistics and skips dropout
            self.features.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) normalized images -> backbone features, flattened -> head -> (B, classes) logits."""
        return self.head(torch.flatten(self.features(x), 1))


def features(desc: dict[str, Any]) -> tuple[nn.Module, int, list, list]:
    """(feature extractor, feature size, input mean, input std) of the backbone `desc` describes."""
    if desc["source"] == "torchvision":
        extractor, dim = torchvision_features(torchvision_model(desc["arch"]), desc["arch"])
        return extractor, dim, IMAGENET_MEAN, IMAGENET_STD
    layers = list(rebuild(desc["arch"], desc["params"], desc["spec"]).body)
    if not isinstance(layers[-1], nn.Linear):
        raise ValueError(f"backbone {desc['model']!r} does not end in a linear layer to replace")
    return nn.Sequential(*layers[:-1]), layers[-1].in_features, desc["spec"]["mean"], desc["spec"]["std"]


def build(p, spec: dict[str, Any]) -> ImageClassifier:
    """The transfer model: the backbone `spec["backbone"]` describes and a new head; inputs normalized as it wants."""
    extractor, dim, mean, std = features(spec["backbone"])
    return ImageClassifier(TransferBody(extractor, dim, p.head, len(spec["classes"]), p.dropout, p.freeze), mean, std)
