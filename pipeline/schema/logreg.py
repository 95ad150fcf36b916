"""tabular.<name> with arch logreg: one linear layer and a sigmoid, trained by gradient descent on
the log-loss."""

from __future__ import annotations

from typing import Literal

from pipeline.core.params import PositiveInt
from pipeline.schema.optim import Optimizer, Schedule

SECTION = "tabular"


class Params(Optimizer, Schedule):
    arch: Literal["logreg"]
    dataset: str
    batch_size: PositiveInt | None  # null: full-batch gradient descent, as in the course
