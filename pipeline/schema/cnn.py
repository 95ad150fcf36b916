"""train.<name> with arch cnn: 3x3 conv + 2x2 max-pool blocks, then a hidden linear layer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from pipeline.core.params import PositiveInt
from pipeline.schema.optim import ImageModel

SECTION = "train"


class Params(ImageModel):
    arch: Literal["cnn"]
    channels: Annotated[list[PositiveInt], Field(min_length=1)]  # one conv + pool block each
    fc: PositiveInt
