"""Good files of every format the pipeline reads, and the ways to damage them: the building blocks
of bench/faults_inputs.py's cases."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import stat
import struct
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

# --- good files, to damage -------------------------------------------------------------------


def _digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's real 8x8 digits as uint8 (n, 8, 8) and their labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return np.rint(d.images * 255 / 16).astype(np.uint8), d.target.astype(np.uint8)


def idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape) + array.tobytes()


def write_idx_folder(folder: Path, labels_cut: int = 0) -> Path:
    """The four MNIST files (real digits), the test labels `labels_cut` short."""
    images, labels = _digits()
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, sl in (("train", slice(0, 1000)), ("t10k", slice(1000, 1400))):
        y = labels[sl][: len(labels[sl]) - labels_cut] if prefix == "t10k" else labels[sl]
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(images[sl]), mtime=0))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(y), mtime=0))
    return folder


def png_bytes(seed: int = 0, size: int = 16, fmt: str = "PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)).save(buf, fmt)
    return buf.getvalue()


def image_folder_files() -> dict[str, bytes]:
    """A two-class image folder: train/ and test/, two PNGs per class."""
    names = [f"{split}/{cls}/{i}.png" for split in ("train", "test") for cls in ("cat", "dog") for i in range(2)]
    return {name: png_bytes(seed) for seed, name in enumerate(names)}


def write_image_dir(folder: Path, bad_name: str, bad: bytes) -> Path:
    for rel, data in (image_folder_files() | {bad_name: bad}).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return folder


def write_image_zip(folder: Path, extra: Callable[[zipfile.ZipFile], None]) -> Path:
    """images.zip of a good image folder, plus whatever `extra` adds."""
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / "images.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in image_folder_files().items():
            zf.writestr(f"pets/{rel}", data)
        extra(zf)
    return folder


def zip_symlink(zf: zipfile.ZipFile) -> None:
    info = zipfile.ZipInfo("pets/train/cat/link.png")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    zf.writestr(info, "/etc/passwd")


def zip_bomb(folder: Path, inflated: int, declared: int) -> Path:
    """An image zip with a member of `inflated` zero bytes whose headers declare `declared`: a
    declared bomb (declared huge) or an actual one (inflates far past what it declares)."""
    name = b"pets/train/cat/bomb.png"
    write_image_zip(folder, lambda zf: zf.writestr(name.decode(), bytes(inflated)))
    data = bytearray((folder / "images.zip").read_bytes())
    struct.pack_into("<I", data, data.rfind(b"PK\x03\x04", 0, data.find(name)) + 22, declared)  # local header
    struct.pack_into("<I", data, data.rfind(b"PK\x01\x02", 0, data.rfind(name)) + 24, declared)  # central directory
    (folder / "images.zip").write_bytes(bytes(data))
    return folder


def tar_add(tar: tarfile.TarFile, name: str, data: bytes = b"", **kw: Any) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for k, v in kw.items():
        setattr(info, k, v)
    tar.addfile(info, io.BytesIO(data) if data else None)


def write_aclimdb(
    folder: Path, extra: Callable[[tarfile.TarFile], None] = lambda tar: None, review: bytes = b"A fine film."
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / "aclImdb_v1.tar.gz", "w:gz") as tar:
        for split in ("train", "test"):
            for label in ("pos", "neg"):
                tar_add(tar, f"aclImdb/{split}/{label}/0_7.txt", review)
        extra(tar)
    return folder


def cifar_pickle(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def write_cifar(folder: Path, batch: bytes | None = None, cut: bool = False, link: bool = False) -> Path:
    """cifar-10-python.tar.gz with 10 random images per batch; `batch` replaces data_batch_1, or
    `link` makes it a symbolic link to /etc/passwd."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    good = cifar_pickle({b"data": rng.integers(0, 255, (10, 3072), dtype=np.uint8), b"labels": list(range(10))})
    path = folder / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            if link and name == "data_batch_1":
                tar_add(tar, f"cifar-10-batches-py/{name}", type=tarfile.SYMTYPE, linkname="/etc/passwd")
                continue
            data = batch if batch is not None and name == "data_batch_1" else good
            tar_add(tar, f"cifar-10-batches-py/{name}", data)
    if cut:
        cut_half(path)
    return folder


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def write_store(folder: Path) -> Path:
    import torch

    from pipeline.core.store import Split, save_split

    images, labels = _digits()
    path = folder / "train.pt"
    save_split(
        Split(torch.from_numpy(images[:500, None].copy()), torch.from_numpy(labels[:500].astype(np.int64))), path
    )
    return path


def write_checkpoint(folder: Path, weights: float | None = None) -> Path:
    """A real checkpoint of a small MLP for 8x8 digits (its weights all `weights` if given)."""
    import torch

    from pipeline.core.params import arch_schema
    from pipeline.models import build_model
    from pipeline.weights.checkpoint import save_checkpoint

    p = arch_schema("mlp", "arch").model_validate(
        dict(
            arch="mlp",
            dataset="digits",
            hidden=[256],
            dropout=0.0,
            optimizer="sgd",
            lr=0.01,
            momentum=0.9,
            weight_decay=0.0,
            batch_size=32,
            epochs=1,
            patience=1,
            seed=0,
            device="cpu",
        )
    )
    spec = {"input_shape": [1, 8, 8], "classes": [str(i) for i in range(10)], "mean": [0.3], "std": [0.4]}
    torch.manual_seed(0)
    model = build_model("mlp", p, spec)
    if weights is not None:
        with torch.no_grad():
            for t in model.parameters():
                t.fill_(weights)
    path = folder / "model.pt"
    save_checkpoint(
        path,
        model=model,
        optimizer=None,
        epoch=1,
        metrics={},
        meta={"model": "mlp", "arch": "mlp", "params": p.model_dump(), "spec": spec, "dataset": "digits"},
    )
    return path


# --- damage ----------------------------------------------------------------------------------


def cut_half(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def _largest_member_offset(path: Path) -> tuple[int, int]:
    """Where the largest member's data starts in a zip, and its size."""
    with zipfile.ZipFile(path) as zf:
        info = max(zf.infolist(), key=lambda i: i.file_size)
    data = path.read_bytes()
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    return info.header_offset + 30 + name_len + extra_len, info.file_size


def flip_bytes(path: Path) -> Path:
    """Invert 64 bytes in the middle of the largest member (tensor data)."""
    start, size = _largest_member_offset(path)
    data = bytearray(path.read_bytes())
    for i in range(start + size // 2, start + size // 2 + 64):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def zero_bytes(path: Path) -> Path:
    """Zero 4 KiB inside the largest member, as a bad disk block would."""
    start, size = _largest_member_offset(path)
    data = bytearray(path.read_bytes())
    data[start + 64 : start + 64 + min(4096, size - 64)] = bytes(min(4096, size - 64))
    path.write_bytes(bytes(data))
    return path


def put(name: str, data: bytes, then: Callable[[Path], Path] | None = None) -> Callable[[Path], Path]:
    """A writer of one file `name` holding `data` (after `then`, if given); returns the folder."""

    def write(folder: Path) -> Path:
        if then is not None:
            then(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        return folder

    return write


def tar_huge(folder: Path) -> Path:
    """A tar member whose header declares 2 GB (the archive then ends): refused before reading."""
    info = tarfile.TarInfo("aclImdb/train/pos/0_9.txt")
    info.size = 2 << 30
    return put("aclImdb_v1.tar.gz", gzip.compress(info.tobuf(tarfile.GNU_FORMAT) + bytes(4096), mtime=0))(folder)


def png_bad_crc() -> bytes:
    data = bytearray(png_bytes(3, 32))
    at = data.find(b"IDAT") + 20
    data[at : at + 8] = bytes(8)  # damaged pixel data: its chunk CRC no longer matches
    return bytes(data)


def digits_csv_gz() -> bytes:
    rows = np.random.default_rng(0).integers(0, 17, (500, 64))
    return gzip.compress(b"".join(b",".join(b"%d" % v for v in [*r, i % 10]) + b"\n" for i, r in enumerate(rows)))
