"""Parsers for the upstream file formats, each returning uint8 images (N, C, H, W) and int64
labels per split. A malformed file is a DataError that names it."""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from pipeline.errors import DataError


@dataclass(frozen=True)
class Arrays:
    images: np.ndarray  # uint8 (N, C, H, W)
    labels: np.ndarray  # int64 (N,)

    def __post_init__(self) -> None:
        if self.images.dtype != np.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} {self.images.shape}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"{len(self.images)} images but labels of shape {self.labels.shape}")


# --- scikit-learn digits: gzipped CSV, 64 pixel values in 0..16 then the label ---------------


def parse_digits_csv(raw_dir: Path) -> dict[str, Arrays]:
    path = raw_dir / "digits.csv.gz"
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable digits CSV ({err}); delete it and rerun download") from None
    if table.ndim != 2 or table.shape[1] != 65 or table[:, :64].min() < 0 or table[:, :64].max() > 16:
        raise DataError(f"{path}: expected rows of 64 pixels in 0..16 plus a label, got shape {table.shape}")
    # 0..16 ink levels onto the 0..255 byte range every other source uses.
    pixels = np.rint(table[:, :64] * (255.0 / 16.0)).astype(np.uint8)
    return {"all": Arrays(pixels.reshape(-1, 1, 8, 8), table[:, 64].astype(np.int64))}


# --- IDX (MNIST, Fashion-MNIST): big-endian header, then raw unsigned bytes ------------------

_IDX_UBYTE = 0x08


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes into an array of its declared shape."""
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable gzip file ({err}); delete it and rerun download") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != _IDX_UBYTE:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (magic {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(data) != header + int(np.prod(shape)):
        raise DataError(f"{path}: header declares shape {shape} but holds {len(data) - header} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def parse_idx(raw_dir: Path) -> dict[str, Arrays]:
    splits = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(raw_dir / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(raw_dir / f"{prefix}-labels-idx1-ubyte.gz")
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(f"{raw_dir}: {prefix} images {images.shape} do not match labels {labels.shape}")
        splits[split] = Arrays(images[:, None].copy(), labels.astype(np.int64))
    return splits


# --- CIFAR-10 python version: a tar.gz of pickled batches ------------------------------------


class _CifarUnpickler(pickle.Unpickler):
    """Unpickle only what CIFAR batches contain (dicts, lists, bytes and numpy arrays), so a
    tampered file from a shared folder cannot run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")
        return super().find_class(module, name)


def _load_batch(tar: tarfile.TarFile, member: str, archive: Path) -> dict:
    try:
        fh = tar.extractfile(member)
        if fh is None:
            raise KeyError(member)
        return _CifarUnpickler(io.BytesIO(fh.read()), encoding="bytes").load()
    except KeyError:
        raise DataError(f"{archive}: member {member} is missing; is this cifar-10-python.tar.gz?") from None
    except (pickle.UnpicklingError, EOFError, ValueError) as err:
        raise DataError(f"{archive}: member {member} is not a CIFAR batch ({err})") from None


def parse_cifar10(raw_dir: Path) -> dict[str, Arrays]:
    archive = raw_dir / "cifar-10-python.tar.gz"
    members = {"train": [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)],
               "test": ["cifar-10-batches-py/test_batch"]}
    try:
        tar = tarfile.open(archive, "r:gz")
    except (OSError, tarfile.TarError) as err:
        raise DataError(f"{archive}: not a readable tar.gz ({err}); delete it and rerun download") from None
    splits = {}
    with tar:
        for split, names in members.items():
            batches = [_load_batch(tar, name, archive) for name in names]
            try:
                data = np.concatenate([np.asarray(b[b"data"], dtype=np.uint8) for b in batches])
                labels = np.concatenate([np.asarray(b[b"labels"], dtype=np.int64) for b in batches])
            except KeyError as err:
                raise DataError(f"{archive}: a {split} batch lacks key {err}") from None
            if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
                raise DataError(f"{archive}: {split} data has shape {data.shape}, expected (N, 3072)")
            splits[split] = Arrays(data.reshape(-1, 3, 32, 32), labels)
    return splits


PARSERS: dict[str, Callable[[Path], dict[str, Arrays]]] = {
    "digits_csv": parse_digits_csv,
    "idx": parse_idx,
    "cifar10": parse_cifar10,
}
