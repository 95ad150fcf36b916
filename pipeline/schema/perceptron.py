"""tabular.<name> with arch perceptron: the course's perceptron trick (nudge the line towards each
misclassified point)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.schema.optim import Schedule

SECTION = "tabular"


class Params(Schedule):
    arch: Literal["perceptron"]
    dataset: str
    lr: float = Field(gt=0)
