"""normalize.<dataset>: images and tables into the tensor store, in seeded stratified splits."""

from __future__ import annotations

from typing import Any

from pipeline.core.params import Fraction, PositiveInt, Section, Seed


class NormalizeParams(Section):
    val_fraction: Fraction  # of the training data, held out for validation / early stopping
    test_fraction: Fraction | None = None  # only for datasets without an official test split
    seed: Seed
    size: PositiveInt | None = None  # image folders: shorter side resized, then a centre square crop


def problems(cfg: NormalizeParams, source: Any) -> list[str]:
    """How normalize.<dataset> can disagree with its data (`source`: pipeline.data.sources.Facts);
    checked by make check, and by the stage before it starts."""
    key, found = f"normalize.{source.dataset}", []
    if source.official_test and cfg.test_fraction is not None:
        found.append(f"{key}.test_fraction: {source.dataset!r} has an official test split; remove it")
    if not source.official_test and cfg.test_fraction is None:
        found.append(f"{key}.test_fraction: required, {source.dataset!r} has no official test split (e.g. 0.2)")
    # No rule on val_fraction + test_fraction: val_fraction is a share of what the test split leaves, so
    # any two fractions below 1 leave a training split; whether a split is empty depends on the data's
    # size (pipeline.data.normalize says which fraction to raise or lower, with the numbers).
    folder = source.format.startswith("image_folder")
    if folder and cfg.size is None:
        found.append(f"{key}.size: required for an image folder (the course uses 224)")
    if not folder and cfg.size is not None:
        found.append(f"{key}.size: only for image folders; {source.dataset!r} has a fixed image size")
    return found
