"""Data as the pipeline prepares it, for tests below the stage level: a dataset fetched from its
entry under datasets/ (`fetch`), a bundled dataset through download and normalize
(`prepared_store`), the bundled corpus encoded (`encoded_corpus`), and the shrunk params of an architecture (`small_train_params`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.core.params import arch_schema, read_yaml
from tests.helpers.project import ROOT, shrink

RUNTIME = {"amp": "auto", "channels_last": True, "compile": False}  # the accelerate section's defaults


def fetch(dataset: str, out: str | Path, folder: str | Path | None = None, **download: Any):
    """Dataset `dataset` (entry datasets/<dataset>/, or `folder`) fetched into `out` with the
    download params `download`, as the download stage does it; returns its facts."""
    from pipeline.data.fetch import fetch_dataset
    from pipeline.data.sources import facts, read_source
    from pipeline.schema.download import DownloadParams

    cfg = DownloadParams.model_validate(download)
    folder = Path(folder) if folder is not None else ROOT / "datasets" / dataset
    source = read_source(folder, dataset, cfg.source)
    fetch_dataset(dataset, source, cfg, folder, out)
    return facts(dataset, source, cfg.source)


def encoded_corpus(root: Path, max_chars: int):
    """The bundled pydoc corpus through download and encode_text, cut to `max_chars`: (tokens, vocab)."""
    from pipeline.core.io import load_torch
    from pipeline.data.text import encode_text_dataset
    from pipeline.schema.encode import EncodeTextParams

    facts = fetch("pydoc", root / "raw")
    vocab = encode_text_dataset(
        facts,
        root / "raw",
        EncodeTextParams(val_fraction=0.1, max_chars=max_chars),
        root / "tokens.pt",
        root / "vocab.json",
    )
    return load_torch(root / "tokens.pt"), vocab


def prepared_store(root: Path, name: str) -> dict[str, Path]:
    """A bundled dataset through download and normalize into `root`, as the pipeline does it: the
    three splits, stats.json and the root."""
    from pipeline.data.normalize import normalize_dataset
    from pipeline.schema.normalize import NormalizeParams

    facts = fetch(name, root / "raw")
    paths = {s: root / f"{s}.pt" for s in ("train", "val", "test")}
    normalize_dataset(
        facts, root / "raw", NormalizeParams(val_fraction=0.15, test_fraction=0.2, seed=0), paths, root / "stats.json"
    )
    return paths | {"stats": root / "stats.json", "root": root}


def small_train_params(arch: str = "mlp", **overrides):
    real = read_yaml(ROOT / "params.yaml")
    entry = next(p for p in shrink(real)["train"].values() if p["arch"] == arch)
    return arch_schema(arch, "arch").model_validate(entry | {"epochs": 3} | overrides)


def accelerate(**overrides):
    from pipeline.schema.runtime import AccelerateParams

    return AccelerateParams.model_validate(RUNTIME | overrides)


def train_image(name: str, p, store: dict, policy, out: Path):
    """`train_model` as stage train@<name> runs it: params `p`, a prepared store's data with the
    augmentation `policy`, the checkpoint and curves under `out` (model.pt, loss.csv, accuracy.csv)."""
    from pipeline.core.store import load_split, read_info
    from pipeline.training.engine.loop import Outputs
    from pipeline.training.train import ImageData, train_model

    data = ImageData(load_split(store["train"]), load_split(store["val"]), read_info(store["stats"]), policy)
    return train_model(name, p, data, Outputs.under(out), runner(f"train.{name}", p))


def runner(key: str, p, **overrides):
    """A one-process runner for params entry `key` (`p`: its params), seeded from `p.seed`, as a
    stage's would be (the accelerate section from params.yaml, with `overrides`)."""
    from pipeline.training.engine.runner import Runner

    return Runner.local(key, p.seed, getattr(p, "device", "cpu"), accelerate(**overrides))
