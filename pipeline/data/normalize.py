"""Raw upstream files -> train/val/test splits of the tensor store, with seeded stratified splits
and per-channel statistics computed on the training split only."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from pipeline.config import NormalizeParams
from pipeline.data.formats import PARSERS, Arrays
from pipeline.data.sources import SOURCES, Source
from pipeline.data.store import DatasetInfo, Split, save_split, write_info
from pipeline.errors import DataError

log = logging.getLogger(__name__)


def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held_out), holding out round(fraction * n) of every class; both sorted."""
    kept, held = [], []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        k = int(round(fraction * len(idx)))
        held.append(idx[:k])
        kept.append(idx[k:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


def _take(a: Arrays, idx: np.ndarray) -> Arrays:
    return Arrays(a.images[idx], a.labels[idx])


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of pixel/255 over (N, H, W), in float64 for stable sums."""
    x = images.astype(np.float64) / 255.0
    return x.mean(axis=(0, 2, 3)).tolist(), x.std(axis=(0, 2, 3)).tolist()


def make_splits(source: Source, raw_dir: Path, cfg: NormalizeParams) -> dict[str, Arrays]:
    """Parse the raw files and return {'train', 'val', 'test'} arrays."""
    parsed = PARSERS[source.parser](Path(raw_dir))
    rng = np.random.default_rng(cfg.seed)
    if source.official_test:
        pool, test = parsed["train"], parsed["test"]
    else:
        keep, held = stratified_split(parsed["all"].labels, cfg.test_fraction, rng)
        pool, test = _take(parsed["all"], keep), _take(parsed["all"], held)
    keep, held = stratified_split(pool.labels, cfg.val_fraction, rng)
    splits = {"train": _take(pool, keep), "val": _take(pool, held), "test": test}
    n_classes = len(source.classes)
    for name, split in splits.items():
        if len(split.labels) == 0:
            raise DataError(f"{raw_dir}: the {name} split is empty; lower the fractions in normalize")
        if split.labels.min() < 0 or split.labels.max() >= n_classes:
            raise DataError(f"{raw_dir}: {name} labels outside 0..{n_classes - 1}")
    log.info("splits: %s", {k: len(v.labels) for k, v in splits.items()})
    return splits


def normalize_dataset(dataset: str, source_name: str, raw_dir: str | Path, cfg: NormalizeParams,
                      split_paths: dict[str, str | Path], stats_path: str | Path) -> DatasetInfo:
    """Write one tensor-store file per split, then the stats JSON (last: it marks completion)."""
    source = SOURCES[source_name]
    splits = make_splits(source, Path(raw_dir), cfg)
    for name, path in split_paths.items():
        save_split(Split(torch.from_numpy(splits[name].images), torch.from_numpy(splits[name].labels)), path)
    mean, std = channel_stats(splits["train"].images)
    info = DatasetInfo(dataset=dataset, source=source_name, classes=list(source.classes),
                       shape=list(splits["train"].images.shape[1:]), mean=mean, std=std,
                       counts={name: len(s.labels) for name, s in splits.items()})
    write_info(info, stats_path)
    return info
