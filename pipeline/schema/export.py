"""export: the parity check of every exported format."""

from __future__ import annotations

from pydantic import Field

from pipeline.core.params import PositiveInt, Section


class ExportParams(Section):
    atol: float = Field(gt=0)  # exported outputs must equal the eager model's within this
    batch_size: PositiveInt  # parity check batch size
