"""style.<name>: the course's style transfer (Gatys et al.) on VGG19 features."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from pipeline.core.params import Device, PositiveInt, Section, Seed

STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


class StyleParams(Section):
    images: str  # a dataset of photos
    content: str  # file name in it
    style: str
    vgg: str  # an entry of backbones with arch vgg19
    size: PositiveInt  # longer side of the content image, pixels
    steps: PositiveInt
    lr: float = Field(gt=0)
    content_weight: float = Field(gt=0)  # alpha
    style_weight: float = Field(gt=0)  # beta
    content_layer: Literal["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1"]
    style_layers: dict[str, Annotated[float, Field(ge=0)]]
    log_every: PositiveInt
    seed: Seed
    device: Device

    @field_validator("style_layers")
    @classmethod
    def _layers(cls, layers: dict[str, float]) -> dict[str, float]:
        unknown = set(layers) - set(STYLE_LAYERS)
        if unknown or not layers:
            raise ValueError(
                f"style layers must be a non-empty subset of {', '.join(STYLE_LAYERS)}, got {sorted(layers)}"
            )
        return layers
