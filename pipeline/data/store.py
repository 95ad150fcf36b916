"""The tensor store: one file per split holding uint8 images (N, C, H, W) and int64 labels, plus a
small JSON of class names and the training split's per-channel mean and std. Training reads these
whole; nothing decodes images one sample at a time."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from pipeline.errors import DataError
from pipeline.io import load_torch, read_json, save_torch, write_json


@dataclass(frozen=True)
class Split:
    images: torch.Tensor  # uint8 (N, C, H, W)
    labels: torch.Tensor  # int64 (N,)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class DatasetInfo:
    dataset: str
    source: str
    classes: list[str]
    shape: list[int]  # (C, H, W)
    mean: list[float]  # per channel, of pixel/255, training split only
    std: list[float]
    counts: dict[str, int]  # samples per split


def save_split(split: Split, path: str | Path) -> None:
    save_torch({"images": split.images.contiguous(), "labels": split.labels.contiguous()}, path)


def load_split(path: str | Path) -> Split:
    try:
        data = load_torch(path, mmap=True)
        split = Split(data["images"], data["labels"])
    except (OSError, RuntimeError, KeyError, TypeError) as err:
        raise DataError(f"{path}: not a split file of the tensor store ({err}); rerun its normalize stage") from None
    if split.images.dtype != torch.uint8 or split.images.ndim != 4 or split.labels.dtype != torch.int64 \
            or split.labels.shape != (len(split.images),):
        raise DataError(f"{path}: expected uint8 images (N, C, H, W) and int64 labels (N,), got "
                        f"{split.images.dtype} {tuple(split.images.shape)} / {split.labels.dtype} "
                        f"{tuple(split.labels.shape)}")
    return split


def write_info(info: DatasetInfo, path: str | Path) -> None:
    write_json(path, asdict(info))


def read_info(path: str | Path) -> DatasetInfo:
    try:
        return DatasetInfo(**read_json(path))
    except (OSError, ValueError, TypeError) as err:
        raise DataError(f"{path}: not a dataset stats file ({err}); rerun its normalize stage") from None
