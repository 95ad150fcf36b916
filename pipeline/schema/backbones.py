"""backbones.<name>: weights for a torchvision architecture, ImageNet's (from a file or the official
URL, checked by hash) or a seeded random initialization (no download)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from pipeline.core.params import Section, Seed


class BackboneParams(Section):
    arch: Literal["resnet18", "vgg16", "vgg19", "densenet121"]
    weights: Literal["imagenet", "random"]
    url: str | None = None  # imagenet: defaults to the official torchvision URL
    local_file: str | None = None  # imagenet: read this file instead of downloading
    sha256: str | None = None  # full hash; otherwise the hash prefix in the official file name is checked
    seed: Seed = 0  # random only
    timeout_s: float = Field(300.0, gt=0)
    retries: int = Field(3, ge=1, le=10)

    @field_validator("sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ValueError(f"sha256 must be 64 lowercase hex digits, got {value!r}")
        return value

    @model_validator(mode="after")
    def _random(self) -> "BackboneParams":
        if self.weights == "random" and (self.url or self.local_file or self.sha256):
            raise ValueError("random weights take no url, local_file or sha256")
        return self
