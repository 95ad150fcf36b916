"""tabular.<name> with arch perceptron: the course's perceptron trick (nudge the line towards each
misclassified point). The trick has no loss to penalize, so no l1."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.core.params import PositiveInt
from pipeline.schema.training import Schedule

SECTION = "tabular"


class Params(Schedule):
    arch: Literal["perceptron"]
    dataset: str
    lr: float = Field(gt=0)
    restarts: PositiveInt = 1  # train with seeds seed..seed+restarts-1; keep the lowest validation loss
