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


FAMILIES = {
    "train": Family("dataset", "image", "evaluate", "image classifier"),
    "transfer": Family("dataset", "image", "evaluate_transfer", "transfer learning"),
    "tabular": Family("dataset", "tabular", "evaluate_tabular", "table classifier"),
    "charrnn": Family("corpus", "corpus", "evaluate_charrnn", "character-level LSTM"),
    "sentiment": Family("dataset", "reviews", "evaluate_sentiment", "sentiment LSTM"),
    "style": Family("images", "photos", "style", "style transfer"),
}
