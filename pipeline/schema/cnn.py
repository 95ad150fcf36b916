"""train.<name> with arch cnn: 3x3 conv + 2x2 max-pool blocks, then a hidden linear layer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from pipeline.core.params import PositiveInt
from pipeline.schema.training import ImageModel, at_most, linear_parameters

SECTION = "train"


class Params(ImageModel):
    arch: Literal["cnn"]
    channels: Annotated[list[PositiveInt], Field(min_length=1)]  # one conv + pool block each
    fc: PositiveInt

    @model_validator(mode="after")
    def _size(self) -> "Params":
        widths = [1, *self.channels]
        convs = sum((9 * a + 1) * b for a, b in zip(widths, widths[1:]))  # 3x3 kernels
        at_most(
            "channels" if convs > self.fc else "fc",
            convs + linear_parameters([self.channels[-1], self.fc, 2]),
            "one input channel, a 1x1 map after pooling and two classes",
        )
        return self
