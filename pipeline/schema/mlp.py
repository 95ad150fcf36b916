"""train.<name> with arch mlp: a multi-layer perceptron on flattened images."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from pipeline.core.params import PositiveInt
from pipeline.schema.optim import ImageModel

SECTION = "train"


class Params(ImageModel):
    arch: Literal["mlp"]
    hidden: Annotated[list[PositiveInt], Field(min_length=1)]
