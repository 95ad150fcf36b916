"""The course's MNIST multilayer perceptron: hidden 512-512, ReLU, dropout 0.2 (and, with other
sizes, its Fashion-MNIST network: 256-128-64)."""

from __future__ import annotations

import math
from typing import Any, Sequence

from torch import nn

from pipeline.models import ImageClassifier


class MLP(nn.Sequential):
    def __init__(self, in_features: int, num_classes: int, hidden: Sequence[int], dropout: float) -> None:
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, num_classes))
        super().__init__(*layers)


def build(p, spec: dict[str, Any]) -> ImageClassifier:
    """The multilayer perceptron on flattened images, one output per class, its inputs normalized."""
    body = MLP(math.prod(spec["input_shape"]), len(spec["classes"]), p.hidden, p.dropout)
    return ImageClassifier(body, spec["mean"], spec["std"])
