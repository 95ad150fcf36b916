"""What trained models share: the optimizer (pipeline.train.OPTIMIZERS), the epochs, and for the
image classifiers of the train section their data keys. Every architecture's schema builds on this
module alone, so that their stages' dependencies are the same list."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from pipeline.core.params import Device, PositiveInt, Section


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
    seed: int


class Loop(Optimizer, Schedule):
    batch_size: PositiveInt
    device: Device


class ImageModel(Loop):
    """An image classifier of the train section; its architecture adds its own keys."""

    arch: str
    dataset: str
    dropout: float = Field(ge=0, lt=1)
    label_map: dict[str, str] | None = None  # relabel classes (e.g. digit -> even/odd) before training
