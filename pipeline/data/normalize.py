"""Raw upstream files -> train/val/test splits of the tensor store, with seeded stratified splits
and statistics computed on the training split only: per channel of pixel/255 for images, per
column for tables."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from pipeline.core.errors import ConfigError, DataError
from pipeline.core.params import invalid
from pipeline.core.store import DatasetInfo, Split, save_split, write_info
from pipeline.data.facts import Facts
from pipeline.data.formats import PARSERS, Arrays
from pipeline.data.split import stratified_split
from pipeline.schema.normalize import NormalizeParams, problems

log = logging.getLogger(__name__)


def _take(a: Arrays, idx: np.ndarray) -> Arrays:
    return Arrays(a.inputs[idx], a.labels[idx], a.classes, a.features)


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of pixel/255 over (N, H, W), in float64 for stable sums."""
    x = images.astype(np.float64) / 255.0
    return x.mean(axis=(0, 2, 3)).tolist(), x.std(axis=(0, 2, 3)).tolist()


def column_stats(table: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-column mean and std; a constant column gets std 1 so standardizing leaves it at 0."""
    x = table.astype(np.float64)
    std = x.std(axis=0)
    return x.mean(axis=0).tolist(), np.where(std > 0, std, 1.0).tolist()


def _nonempty(
    source: Facts, cfg: NormalizeParams, parsed: dict[str, Arrays], pool: Arrays, splits: dict[str, Arrays]
) -> None:
    """An empty split is a fraction too small (raise it) or fractions too large (lower them): say
    which, with the numbers. Only the data's size can tell, so this runs here, not in make check."""
    key = f"normalize.{source.dataset}"
    if len(splits["train"].labels) == 0:
        raise ConfigError(
            f"{key}: val_fraction {cfg.val_fraction} and test_fraction {cfg.test_fraction} leave no "
            f"training samples of {len(pool.labels) + len(splits['test'].labels)}; lower them"
        )
    held_from = (
        {"val": ("val_fraction", pool)}
        if source.official_test
        else {"test": ("test_fraction", parsed["all"]), "val": ("val_fraction", pool)}
    )
    for split, (name, whole) in held_from.items():
        if len(splits[split].labels) == 0:
            largest = int(np.unique(whole.labels, return_counts=True)[1].max())
            raise ConfigError(
                f"{key}.{name}: {getattr(cfg, name)} holds out 0 of the {len(whole.labels)} samples "
                f"it splits (it rounds per class, and the largest class has {largest}): the {split} "
                f"split is empty; raise it to at least {1 / largest:.2g}"
            )


def make_splits(source: Facts, raw_dir: Path, cfg: NormalizeParams) -> dict[str, Arrays]:
    """Parse the raw files and return {'train', 'val', 'test'} arrays."""
    parsed = PARSERS[source.format](Path(raw_dir), cfg.size, **source.options)
    rng = np.random.default_rng(cfg.seed)
    if source.official_test:
        pool, test = parsed["train"], parsed["test"]
    else:
        keep, held = stratified_split(parsed["all"].labels, cfg.test_fraction, rng)
        pool, test = _take(parsed["all"], keep), _take(parsed["all"], held)
    keep, held = stratified_split(pool.labels, cfg.val_fraction, rng)
    splits = {"train": _take(pool, keep), "val": _take(pool, held), "test": test}
    _nonempty(source, cfg, parsed, pool, splits)
    n_classes = len(source.classes or pool.classes)
    for name, split in splits.items():
        if len(split.labels) == 0:  # the official test split, as the fractions were checked above
            raise DataError(
                f"{raw_dir}: the {name} split of the raw files is empty; fetch them again (dvc repro -f "
                f"download@{source.dataset})"
            )
        if split.labels.min() < 0 or split.labels.max() >= n_classes:
            raise DataError(f"{raw_dir}: {name} labels outside 0..{n_classes - 1}")
    log.info("splits: %s", {k: len(v.labels) for k, v in splits.items()})
    return splits


def normalize_dataset(
    source: Facts, raw_dir: str | Path, cfg: NormalizeParams, split_paths: dict[str, str | Path], stats_path: str | Path
) -> DatasetInfo:
    """Write one tensor-store file per split, then the stats JSON (last: it marks completion)."""
    if found := problems(cfg, source):
        raise invalid(found)
    splits = make_splits(source, Path(raw_dir), cfg)
    for name, path in split_paths.items():
        save_split(Split(torch.from_numpy(splits[name].inputs), torch.from_numpy(splits[name].labels)), path)
    train = splits["train"]
    mean, std = channel_stats(train.inputs) if source.kind == "image" else column_stats(train.inputs)
    info = DatasetInfo(
        dataset=source.dataset,
        source=source.source,
        kind=source.kind,
        classes=list(source.classes or train.classes),
        shape=list(train.inputs.shape[1:]),
        mean=mean,
        std=std,
        counts={name: len(s.labels) for name, s in splits.items()},
        features=list(train.features),
    )
    write_info(info, stats_path)
    return info
