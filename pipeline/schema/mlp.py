"""train.<name> with arch mlp: a multi-layer perceptron on flattened images."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from pipeline.core.params import PositiveInt
from pipeline.schema.training import ImageModel, at_most, linear_parameters

SECTION = "train"


class Params(ImageModel):
    arch: Literal["mlp"]
    hidden: Annotated[list[PositiveInt], Field(min_length=1)]

    @model_validator(mode="after")
    def _size(self) -> "Params":
        at_most("hidden", linear_parameters([1, *self.hidden, 2]), "one input feature and two classes")
        return self
