"""sentiment.<name>: the course's sentiment RNN (embedding, LSTM or GRU or vanilla RNN: `cell`,
dropout, linear, sigmoid)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline.core.params import PositiveInt
from pipeline.schema.training import Loop, at_most, linear_parameters, recurrent_parameters

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

    @model_validator(mode="after")
    def _size(self) -> "Params":
        vocab = 2  # padding and unknown; the real vocabulary only adds parameters
        count = vocab * self.embedding_dim + linear_parameters([self.hidden, 1])
        at_most(
            "hidden",
            count + recurrent_parameters(self.cell, self.embedding_dim, self.hidden, self.layers),
            "a vocabulary of two words",
        )
        return self
