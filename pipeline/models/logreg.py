"""Logistic regression (course lesson 2): one linear layer; its output is the logit of class 1."""

from __future__ import annotations

from typing import Any

from torch import nn

from pipeline.models import TabularClassifier


def build(p, spec: dict[str, Any]) -> TabularClassifier:
    """Logistic regression over the table's features, its inputs standardized."""
    return TabularClassifier(nn.Linear(len(spec["features"]), 1), spec["mean"], spec["std"])
