"""sentiment.<name>: the course's sentiment LSTM (embedding, LSTM, dropout, linear, sigmoid)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.core.params import PositiveInt
from pipeline.schema.optim import Loop

SECTION = "sentiment"


class Params(Loop):
    arch: Literal["sentiment"]
    dataset: str
    embedding_dim: PositiveInt
    hidden: PositiveInt
    layers: PositiveInt
    dropout: float = Field(ge=0, lt=1)
    clip: float = Field(gt=0)
