"""normalize.<dataset>: images and tables into the tensor store, in seeded stratified splits."""

from __future__ import annotations

from typing import Any

from pipeline.core.params import Fraction, PositiveInt, Section


class NormalizeParams(Section):
    val_fraction: Fraction  # of the training data, held out for validation / early stopping
    test_fraction: Fraction | None = None  # only for datasets without an official test split
    seed: int
    size: PositiveInt | None = None  # image folders: shorter side resized, then a centre square crop


def problems(cfg: NormalizeParams, source: Any) -> list[str]:
    """How normalize.<dataset> can disagree with its data (`source`: pipeline.data.sources.Facts);
    checked by make check, and by the stage before it starts."""
    key, found = f"normalize.{source.dataset}", []
    if source.official_test and cfg.test_fraction is not None:
        found.append(f"{key}.test_fraction: {source.dataset!r} has an official test split; remove it")
    if not source.official_test and cfg.test_fraction is None:
        found.append(f"{key}.test_fraction: required, {source.dataset!r} has no official test split (e.g. 0.2)")
    if cfg.val_fraction + (cfg.test_fraction or 0) >= 1:
        found.append(f"{key}: val_fraction + test_fraction must be < 1")
    folder = source.format.startswith("image_folder")
    if folder and cfg.size is None:
        found.append(f"{key}.size: required for an image folder (the course uses 224)")
    if not folder and cfg.size is not None:
        found.append(f"{key}.size: only for image folders; {source.dataset!r} has a fixed image size")
    return found
