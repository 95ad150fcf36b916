"""The perceptron (course lesson 2): a line w.x + b; class 1 on its positive side. Same shape as
logistic regression; what differs is how it learns (pipeline.training.tabular.perceptron_epoch)."""

from __future__ import annotations

from typing import Any

from torch import nn

from pipeline.models import TabularClassifier


def build(p, spec: dict[str, Any]) -> TabularClassifier:
    """The perceptron: one linear unit over the table's features, its inputs standardized."""
    return TabularClassifier(nn.Linear(len(spec["features"]), 1), spec["mean"], spec["std"])
