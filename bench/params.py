"""params.yaml as the bench scripts read it: every section validated by make check's code."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipeline.run import check


@dataclass(frozen=True)
class BenchParams:
    train: dict[str, Any]
    augment: dict[str, Any]
    normalize: dict[str, Any]
    charrnn: dict[str, Any]
    sentiment: dict[str, Any]
    runtime: Any
    accelerate: Any

    def model(self, arch: str) -> Any:
        """The train section's model named like its architecture (mlp, cnn)."""
        return self.train[arch]

    def with_accelerate(self, **change: Any) -> "BenchParams":
        return replace(self, accelerate=self.accelerate.model_copy(update=change))


def load(path: str | Path = "params.yaml") -> BenchParams:
    p = check.load(path)
    return BenchParams(**{name: p[name] for name in BenchParams.__dataclass_fields__})
