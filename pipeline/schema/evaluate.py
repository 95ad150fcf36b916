"""evaluate: how classifiers are evaluated."""

from __future__ import annotations

from pipeline.core.params import Device, PositiveInt, Section


class EvaluateParams(Section):
    batch_size: PositiveInt
    device: Device
