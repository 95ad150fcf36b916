"""charrnn.<name>: the course's character-level RNN (an LSTM, or a GRU or vanilla RNN: `cell`);
sample.<name>: how its text is sampled (a section of its own, so that sampling settings rerun
sampling, not training)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.core.params import PositiveInt, Section
from pipeline.schema.optim import Loop

SECTION = "charrnn"


class Params(Loop):
    arch: Literal["charrnn"]
    corpus: str
    cell: Literal["lstm", "gru", "rnn"] = "lstm"  # the recurrent layer (pipeline.models.charrnn.CELLS)
    onehot: bool  # the course feeds one-hot characters; false learns an embedding instead
    embedding_dim: PositiveInt  # used when onehot is false
    hidden: PositiveInt
    layers: PositiveInt
    dropout: float = Field(ge=0, lt=1)
    seq_length: PositiveInt
    clip: float = Field(gt=0)  # gradient norm clipping


class Sampling(Section):
    prime: str = Field(min_length=1)  # generated samples start with this
    length: PositiveInt  # characters generated after the prime
    top_k: PositiveInt
    samples: PositiveInt  # how many samples to generate
    seed: int
