"""tabular.<name> with arch logreg: one linear layer and a sigmoid, trained by gradient descent on
the log-loss."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.core.params import PositiveInt
from pipeline.schema.training import Optimizer, Schedule

SECTION = "tabular"


class Params(Optimizer, Schedule):
    arch: Literal["logreg"]
    dataset: str
    batch_size: PositiveInt | None  # null: full-batch gradient descent, as in the course
    l1: float = Field(0.0, ge=0)  # L1 penalty on the weights (not biases), beside weight_decay's L2
    restarts: PositiveInt = 1  # train with seeds seed..seed+restarts-1; keep the lowest validation loss
