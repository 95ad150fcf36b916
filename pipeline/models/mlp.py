"""The course's MNIST multilayer perceptron: hidden 512-512, ReLU, dropout 0.2."""

from __future__ import annotations

import math
from typing import Sequence

from torch import nn


class MLP(nn.Sequential):
    def __init__(self, in_features: int, num_classes: int, hidden: Sequence[int], dropout: float) -> None:
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, num_classes))
        super().__init__(*layers)


def build(p, input_shape: Sequence[int], num_classes: int) -> MLP:
    return MLP(math.prod(input_shape), num_classes, p.hidden, p.dropout)
