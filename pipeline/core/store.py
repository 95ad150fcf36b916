"""The tensor store: one file per split holding the inputs (uint8 images (N, C, H, W), float32
table rows (N, F) or int64 token sequences (N, T)) and int64 labels, plus a small JSON of class
names and the training split's statistics. Training reads these whole; nothing decodes images one
sample at a time."""

from __future__ import annotations

import pickle
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from pipeline.core.errors import ConfigError, DataError, one_line, rerun_hint
from pipeline.core.io import load_verified, read_json, save_torch, write_json


@dataclass(frozen=True)
class Split:
    inputs: torch.Tensor  # (N, ...)
    labels: torch.Tensor  # int64 (N,)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class DatasetInfo:
    dataset: str
    source: str
    kind: str  # image or tabular (pipeline.data.sources)
    classes: list[str]
    shape: list[int]  # of one sample: (C, H, W) or (F,)
    mean: list[float]  # training split only: per channel of pixel/255, or per column
    std: list[float]
    counts: dict[str, int]  # samples per split
    features: list[str]  # column names of a table; [] for images


def save_split(split: Split, path: str | Path) -> None:
    """Write a split's inputs and labels (contiguous) to `path`, as `load_split` reads them."""
    save_torch({"inputs": split.inputs.contiguous(), "labels": split.labels.contiguous()}, path)


def load_split(path: str | Path) -> Split:
    """A split file, its CRC-32s checked first: a damaged file is an error, never data to train on."""
    try:
        data = load_verified(path, "normalize", mmap=True)
        split = Split(data["inputs"], data["labels"])
    except (OSError, RuntimeError, KeyError, TypeError, ValueError, EOFError, pickle.UnpicklingError) as err:
        raise DataError(
            f"{path}: not a split file of the tensor store ({one_line(err)}); {rerun_hint(path, 'normalize')}"
        ) from None
    if split.inputs.ndim < 2 or split.labels.dtype != torch.int64 or split.labels.shape != (len(split.inputs),):
        raise DataError(
            f"{path}: expected inputs (N, ...) and int64 labels (N,), got "
            f"{split.inputs.dtype} {tuple(split.inputs.shape)} / {split.labels.dtype} "
            f"{tuple(split.labels.shape)}"
        )
    if split.inputs.is_floating_point() and not torch.isfinite(split.inputs).all():
        raise DataError(f"{path}: inputs hold NaN or infinite values; {rerun_hint(path, 'normalize')}")
    return split


def write_info(info: DatasetInfo, path: str | Path) -> None:
    """Write the class names and the training split's statistics to `path` as JSON."""
    write_json(path, asdict(info))


def read_info(path: str | Path) -> DatasetInfo:
    """The statistics a normalize stage wrote to `path`; a DataError if it is missing or not such a file."""
    try:
        return DatasetInfo(**read_json(path))
    except (OSError, ValueError, TypeError) as err:
        raise DataError(f"{path}: not a dataset stats file ({err}); rerun its normalize stage") from None


def relabel(split: Split, classes: list[str], label_map: dict[str, str] | None, key: str) -> tuple[Split, list[str]]:
    """Map each class to a new one (e.g. digit -> even/odd); the new classes are sorted by name."""
    if not label_map:
        return split, list(classes)
    missing = [c for c in classes if c not in label_map]
    extra = [c for c in label_map if c not in classes]
    if missing or extra:
        raise ConfigError(
            f"{key}: must map every class of the dataset and nothing else; missing "
            f"{missing or 'none'}, unknown {extra or 'none'} (classes: {', '.join(classes)})"
        )
    new = sorted(set(label_map.values()))
    table = torch.tensor([new.index(label_map[c]) for c in classes], dtype=torch.int64)
    return Split(split.inputs, table[split.labels]), new
