"""augment.<dataset>: the seeded augmentation policy training applies to batches of images."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from pipeline.core.params import Probability, Section, Seed


class AugmentParams(Section):
    rotation_deg: float = Field(ge=0, le=180)  # uniform in [-r, r]
    translate: float = Field(ge=0, lt=0.5)  # fraction of width/height, uniform in [-t, t]
    scale: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=2, max_length=2)]  # [low, high]; >1 zooms in
    hflip: Probability  # probability of a horizontal flip
    seed: Seed
    preview_images: int = Field(ge=1, le=256)

    @field_validator("scale")
    @classmethod
    def _ordered(cls, scale: list[float]) -> list[float]:
        if scale[0] > scale[1]:
            raise ValueError(f"scale must be [low, high] with low <= high, got {scale}")
        return scale


def problems(cfg: AugmentParams, source: Any) -> list[str]:
    """How augment.<dataset> can disagree with its data (`source`: pipeline.data.sources.Facts)."""
    if cfg.hflip > 0 and not source.hflip_ok:
        return [
            f"augment.{source.dataset}.hflip: must be 0 for {source.dataset!r}: a mirrored image changes class "
            "(a mirrored 2 is not a 2)"
        ]
    return []
