"""The course's CIFAR-10 CNN: 3x3 conv blocks (16, 32, 64) with padding, ReLU and 2x2 max-pool,
dropout 0.25, a 500-unit hidden layer, then the output layer. Channels and size come from the data."""

from __future__ import annotations

from typing import Any, Sequence

from torch import nn

from pipeline.core.errors import ConfigError
from pipeline.models import ImageClassifier


class CNN(nn.Sequential):
    def __init__(
        self, input_shape: Sequence[int], num_classes: int, channels: Sequence[int], fc: int, dropout: float
    ) -> None:
        in_ch, height, width = input_shape
        layers: list[nn.Module] = []
        for out_ch in channels:
            layers += [nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            in_ch, height, width = out_ch, height // 2, width // 2
        if height == 0 or width == 0:
            raise ConfigError(
                f"{len(channels)} pooling blocks shrink a {input_shape[1]}x{input_shape[2]} "
                "image to nothing; use fewer entries in channels"
            )
        layers += [
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(in_ch * height * width, fc),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(fc, num_classes),
        ]
        super().__init__(*layers)


def build(p, spec: dict[str, Any]) -> ImageClassifier:
    """The course's CNN for the data's image shape and classes, its inputs normalized."""
    body = CNN(spec["input_shape"], len(spec["classes"]), p.channels, p.fc, p.dropout)
    return ImageClassifier(body, spec["mean"], spec["std"])
