"""sentiment.<name>: the course's sentiment RNN (embedding, LSTM or GRU or vanilla RNN: `cell`,
dropout, linear, sigmoid)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.core.params import PositiveInt
from pipeline.schema.optim import Loop

SECTION = "sentiment"


class Params(Loop):
    arch: Literal["sentiment"]
    dataset: str
    cell: Literal["lstm", "gru", "rnn"] = "lstm"  # the recurrent layer (pipeline.models.sentiment.CELLS)
    embedding_dim: PositiveInt
    hidden: PositiveInt
    layers: PositiveInt
    dropout: float = Field(ge=0, lt=1)
    clip: float = Field(gt=0)
