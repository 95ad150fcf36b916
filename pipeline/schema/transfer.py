"""transfer.<name>: a frozen feature extractor plus a new trainable head."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pipeline.core.params import PositiveInt
from pipeline.schema.training import Loop, Relabeled

SECTION = "transfer"


class Params(Loop, Relabeled):
    arch: Literal["transfer"]
    dataset: str
    backbone: str  # a model of the train section (the pipeline's own) or an entry of backbones (torchvision)
    freeze: bool  # false fine-tunes the backbone too
    head: list[PositiveInt]  # hidden sizes of the new head; [] is a single linear layer
    dropout: float = Field(ge=0, lt=1)
    label_map: dict[str, str] | None = None
