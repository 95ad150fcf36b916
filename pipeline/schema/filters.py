"""filters: the course's hand-made kernels (Sobel, high-pass) applied to real photos, and what
max pooling does to their responses (stage filters)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from pipeline.core.params import PositiveInt, Section


def _kernel(rows: list[list[float]]) -> list[list[float]]:
    side = len(rows)
    if side == 0 or side % 2 == 0 or any(len(row) != side for row in rows):
        widths = sorted({len(row) for row in rows})
        shape = (
            "no rows"
            if not rows
            else f"a {side}x{widths[0]} matrix"
            if len(widths) == 1
            else f"rows of {' and '.join(map(str, widths))} numbers"
        )
        raise ValueError(f"must be a square matrix with an odd side (3x3, 5x5...), got {shape}")
    return rows


Kernel = Annotated[list[list[float]], AfterValidator(_kernel)]


class FiltersParams(Section):
    photos: str  # a dataset of kind photos (download.<name>, like style.<name>.images)
    images: list[str] = Field(min_length=1)  # file names in it
    size: int = Field(ge=8)  # the longer side is resized to this many pixels, for speed
    kernels: dict[str, Kernel] = Field(min_length=1)  # name -> square, odd-sized matrix
    pool: PositiveInt = Field(ge=2)  # max pooling: `pool` x `pool` windows, stride `pool`

    @field_validator("images")
    @classmethod
    def _unique(cls, images: list[str]) -> list[str]:
        repeated = sorted({name for name in images if images.count(name) > 1})
        if repeated:
            raise ValueError(f"each image once; repeated: {', '.join(repeated)}")
        return images
