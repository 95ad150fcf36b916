"""encode_text.<corpus> and encode_reviews.<dataset>: text into integer codes."""

from __future__ import annotations

from typing import Any

from pipeline.core.params import Fraction, PositiveInt, Section, Seed


class EncodeTextParams(Section):
    """A corpus -> codes over a sorted character vocabulary."""

    val_fraction: Fraction  # the held-out tail of the text
    max_chars: PositiveInt | None = None  # keep only the first max_chars characters (CPU-sized runs)


class EncodeReviewsParams(Section):
    """Reviews -> tokens (lowercase, punctuation stripped), a frequency-ranked vocabulary (0 pads),
    left-padded or truncated to seq_length."""

    seq_length: PositiveInt
    min_count: PositiveInt  # words rarer than this in the training split map to 1 (unknown)
    val_fraction: Fraction
    test_fraction: Fraction | None = None  # only for datasets without an official test split
    seed: Seed


def review_problems(cfg: EncodeReviewsParams, source: Any) -> list[str]:
    """How encode_reviews.<dataset> can disagree with its data (`source`: pipeline.data.sources.Facts)."""
    if source.official_test != (cfg.test_fraction is None):
        return [
            f"encode_reviews.{source.dataset}.test_fraction: "
            + ("remove it; the dataset has an official test split" if source.official_test else "required")
        ]
    return []
