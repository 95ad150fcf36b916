"""gates: perceptrons as logical operators (course lesson 2). `gates.data` says how the tiny
datasets are generated; each entry of `gates.models` is a model of a tabular arch, validated by that
arch's schema, without `dataset`: the gates stage makes its own data (pipeline.training.gates)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pipeline.core.errors import ConfigError
from pipeline.core.params import Fraction, PositiveInt, Section, Seed, arch_schema, check, invalid

SECTION = "gates"
DATASET = "gates"  # what a gates model's `dataset` key holds once validated


class GatesData(Section):
    per_corner: PositiveInt  # noisy points around each truth-table row
    noise: float = Field(gt=0)  # std of the Gaussian noise added to the 0/1 inputs
    val_fraction: Fraction  # held-out share of the noisy points
    seed: Seed


def _entry(entry: Any, key: str, found: list[str]) -> Any:
    """One gates model validated by its arch's schema (with `dataset` filled in), or None."""
    if not isinstance(entry, dict):
        found.append(f"{key}: must be a mapping of settings, got {entry!r}")
        return None
    if "dataset" in entry:
        found.append(f"{key}.dataset: unknown key; a gates model trains on the generated gates, remove it")
        return None
    if "arch" not in entry:
        found.append(f"{key}.arch: required key is missing")
        return None
    try:
        schema = arch_schema(entry["arch"], f"{key}.arch", "tabular")
    except ConfigError as err:
        found.append(str(err))
        return None
    return check(schema, entry | {"dataset": DATASET}, key, found)


def _parts(raw: Any, found: list[str]) -> tuple[Any, dict]:
    gates = raw.get(SECTION) if isinstance(raw, dict) else None
    if not isinstance(gates, dict):
        found.append(f"{SECTION}: required section is missing (a mapping with data and models)")
        return None, {}
    found += [f"{SECTION}.{k}: unknown key; allowed keys: data, models" for k in gates if k not in ("data", "models")]
    models = gates.get("models")
    if not isinstance(models, dict) or not models:
        found.append(f"{SECTION}.models: must map model names to settings, got {models!r}")
        models = {}
    return check(GatesData, gates.get("data"), f"{SECTION}.data", found), models


def problems(raw: Any) -> list[str]:
    """Everything wrong with params.yaml's gates section (for pipeline.run.check)."""
    found: list[str] = []
    _, models = _parts(raw, found)
    for name, entry in models.items():
        _entry(entry, f"{SECTION}.models.{name}", found)
    return found


def read(raw: Any, name: str, source: str = "params.yaml") -> tuple[GatesData, Any]:
    """What stage gates@<name> reads: gates.data and gates.models.<name>, validated."""
    found: list[str] = []
    data, models = _parts(raw, found)
    model = None
    if name not in models:
        found.append(
            f"{SECTION}.models.{name}: no such entry in {source}; gates.models has: {', '.join(models) or 'nothing'}"
        )
    else:
        model = _entry(models[name], f"{SECTION}.models.{name}", found)
    if found:
        raise invalid(found, source)
    return data, model
