"""A multilayer perceptron on a table (course lesson 2: XOR needs a hidden layer): Linear ->
activation for each hidden layer, then Linear(..., 1), whose output is the logit of class 1."""

from __future__ import annotations

from typing import Any

from torch import nn

from pipeline.models import TabularClassifier

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def build(p, spec: dict[str, Any]) -> TabularClassifier:
    """The tabular MLP: each `hidden` layer with its activation, then one logit of class 1; inputs standardized."""
    layers: list[nn.Module] = []
    width = len(spec["features"])
    for units in p.hidden:
        layers += [nn.Linear(width, units), ACTIVATIONS[p.activation]()]
        width = units
    return TabularClassifier(nn.Sequential(*layers, nn.Linear(width, 1)), spec["mean"], spec["std"])
