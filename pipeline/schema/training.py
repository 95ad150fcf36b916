"""What trained models share: the optimizer (pipeline.training.engine.loop.OPTIMIZERS), the epochs, the
size limits, and for the image classifiers of the train section their data keys. Only the schemas of
trained models import it (a data stage's seed is core's `Seed`), so an edit here reruns training
and what follows it, never the data stages."""

from __future__ import annotations

import difflib
from collections import Counter
from typing import Iterable, Literal

from pydantic import Field, model_validator

from pipeline.core.params import Device, PositiveInt, Section, Seed

# A model with more parameters than this is a typo (`hidden: [1000000000, 512]`), not a course model
# (theirs have 10**4 to 10**7). The bound is the same on every machine, so that `make check` says
# the same everywhere: 2**31 float32 weights are 8 GiB, 32 GiB with gradients and Adam's moments.
MAX_PARAMETERS = 2**31


def linear_parameters(widths: Iterable[int]) -> int:
    """Weights and biases of a chain of linear layers through `widths` (inputs first)."""
    widths = list(widths)
    return sum((a + 1) * b for a, b in zip(widths, widths[1:]))


def recurrent_parameters(cell: str, inputs: int, hidden: int, layers: int) -> int:
    """Weights and biases of torch's LSTM / GRU / RNN (both bias vectors, as torch has them)."""
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[cell]  # closed form: `layers: 10**18` must not loop
    return gates * hidden * ((inputs + hidden + 2) + (layers - 1) * (2 * hidden + 2))


def at_most(key: str, count: int, smallest: str) -> None:
    """Refuse a model of more than MAX_PARAMETERS (`count`: a lower bound from params alone, with
    the `smallest` data it could have, as the sizes of the data are not params)."""
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"{key}: the model would have at least {count:,} parameters (with {smallest}), more than "
            f"the limit of {MAX_PARAMETERS:,} ({4 * count / 2**30:,.0f} GiB of float32 weights alone); "
            "use smaller sizes"
        )


def label_map_typo(label_map: dict[str, str] | None) -> str | None:
    """What is wrong with a label_map whose one class maps to a near-miss of another's target
    (`"0": eveb` among `even`/`odd` would train a third class, silently), or None. A target that
    several classes share is meant; one that a single class has, beside a near twin, is a typo."""
    counts = Counter((label_map or {}).values())
    for source, target in (label_map or {}).items():
        others = [t for t in counts if t != target and counts[t] > 1]
        if counts[target] == 1 and (close := difflib.get_close_matches(target, others, n=1, cutoff=0.75)):
            return (
                f"label_map: {source!r} maps to {target!r}, which no other class maps to, beside {close[0]!r} "
                f"({counts[close[0]]} classes); did you mean {close[0]!r}? (as written, {target!r} is a class "
                "of its own)"
            )
    return None


class Relabeled(Section):
    """A classifier that may relabel its dataset's classes (e.g. digit -> even/odd)."""

    label_map: dict[str, str] | None = None

    @model_validator(mode="after")
    def _typo(self) -> "Relabeled":
        if (typo := label_map_typo(self.label_map)) is not None:
            raise ValueError(typo)
        return self


class Optimizer(Section):
    optimizer: Literal["sgd", "adam", "adamw"]
    lr: float = Field(gt=0)
    momentum: float = Field(0.0, ge=0, lt=1)  # sgd only
    weight_decay: float = Field(0.0, ge=0)

    @model_validator(mode="after")
    def _momentum(self) -> "Optimizer":
        if self.momentum and self.optimizer != "sgd":
            raise ValueError(f"momentum: only sgd uses momentum; set it to 0 for {self.optimizer}")
        return self


class Schedule(Section):
    epochs: PositiveInt
    patience: PositiveInt  # early stopping: epochs without a lower validation loss
    seed: Seed


class Loop(Optimizer, Schedule):
    batch_size: PositiveInt
    device: Device


class ImageModel(Loop, Relabeled):
    """An image classifier of the train section; its architecture adds its own keys."""

    arch: str
    dataset: str
    dropout: float = Field(ge=0, lt=1)
    label_map: dict[str, str] | None = None  # relabel classes (e.g. digit -> even/odd) before training
