"""charrnn.<name>: the course's character-level RNN (an LSTM, or a GRU or vanilla RNN: `cell`);
sample.<name>: how its text is sampled (a section of its own, so that sampling settings rerun
sampling, not training)."""

from __future__ import annotations

from typing import Iterable, Literal

from pydantic import Field, model_validator

from pipeline.core.params import PositiveInt, Section
from pipeline.schema.training import Loop, Seed, at_most, linear_parameters, recurrent_parameters

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

    @model_validator(mode="after")
    def _size(self) -> "Params":
        vocab = 2  # the smallest corpus; the real vocabulary only adds parameters
        inputs = vocab if self.onehot else self.embedding_dim
        count = (0 if self.onehot else vocab * self.embedding_dim) + linear_parameters([self.hidden, vocab])
        at_most(
            "hidden",
            count + recurrent_parameters(self.cell, inputs, self.hidden, self.layers),
            "a vocabulary of two characters",
        )
        return self


class Sampling(Section):
    prime: str = Field(min_length=1)  # generated samples start with this
    length: PositiveInt  # characters generated after the prime
    top_k: PositiveInt
    samples: PositiveInt  # how many samples to generate
    seed: Seed


def prime_problem(prime: str, chars: Iterable[str], key: str) -> str | None:
    """Why `prime` cannot start a sample of a model over the vocabulary `chars`, or None. Checked
    by evaluate_charrnn before it evaluates, and by make check once the corpus is encoded (training
    does not read the prime: a new prime reruns sampling, not training)."""
    vocab = set(chars)
    missing = sorted({ch for ch in prime if ch not in vocab})
    if not missing:
        return None
    return (
        f"{key}: the prime {prime!r} has characters the corpus lacks: {', '.join(map(repr, missing))}; its "
        f"vocabulary has {len(vocab)} characters; write the prime with those only (e.g. replace "
        f"{missing[0]!r} or drop it)"
    )
