"""The model families: one per model section of params.yaml. What `make check`, the report and the
tests know about a family is read from this table (torch-free: `make check` and the report import it
without loading torch). Adding a family means a row here, its schema and its stages in dvc.yaml."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    data_key: str  # the entry's key that names its dataset
    kind: str  # the kind of dataset that key must name (as pipeline.data.sources names them)
    stage: str  # the stage that writes metrics/<model>.json
    title: str  # how the report names it
    # What its checkpoints and export folders record as "family" (metadata.json), which tells
    # `predict` how to feed the model; None: nothing is exported (style transfer writes images).
    exports: str | None


FAMILIES = {
    "train": Family("dataset", "image", "evaluate", "image classifier", "image"),
    "transfer": Family("dataset", "image", "evaluate_transfer", "transfer learning", "image"),
    "tabular": Family("dataset", "tabular", "evaluate_tabular", "table classifier", "tabular"),
    "charrnn": Family("corpus", "corpus", "evaluate_charrnn", "character-level LSTM", "charrnn"),
    "sentiment": Family("dataset", "reviews", "evaluate_sentiment", "sentiment LSTM", "sentiment"),
    "style": Family("images", "photos", "style", "style transfer", None),
}

# The "family" values an export folder's metadata.json may hold
EXPORTED = sorted({f.exports for f in FAMILIES.values() if f.exports})
