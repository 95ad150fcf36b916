"""tabular.<name> with arch tabular_mlp: hidden layers between the inputs and the one logit (what
XOR needs), trained like logistic regression by gradient descent on the log-loss."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline.core.params import PositiveInt
from pipeline.schema.training import Optimizer, Schedule, at_most, linear_parameters

SECTION = "tabular"


class Params(Optimizer, Schedule):
    arch: Literal["tabular_mlp"]
    dataset: str
    hidden: list[PositiveInt] = Field(min_length=1)  # units per hidden layer, in order
    activation: Literal["relu", "tanh", "sigmoid"]
    batch_size: PositiveInt | None  # null: full-batch gradient descent
    l1: float = Field(0.0, ge=0)  # L1 penalty on the weights (not biases), beside weight_decay's L2
    restarts: PositiveInt = 1  # train with seeds seed..seed+restarts-1; keep the lowest validation loss

    @model_validator(mode="after")
    def _size(self) -> "Params":
        at_most("hidden", linear_parameters([1, *self.hidden, 1]), "one input column")
        return self
