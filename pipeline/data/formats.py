"""Parsers for the upstream image and table formats, each returning per-split arrays: uint8 images
(N, C, H, W) or float32 feature rows (N, F), and int64 labels. A malformed file is a DataError
that names it. (Text corpora and reviews are read by pipeline.data.text.)"""

from __future__ import annotations

import gzip
import io
import math
import pickle
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from pipeline.core.errors import DataError, one_line
from pipeline.data.imageprep import resize_crop
from pipeline.data.integrity import DECODE_ERRORS, MAX_MEMBER_BYTES, check_member, refetch
from pipeline.data.tables import (
    Arrays,
    parse_admissions_csv,
    parse_breast_cancer_csv,
    parse_points_csv,
    parse_table_csv,
)


def parse_digits_csv(raw_dir: Path, size: int | None = None) -> dict[str, Arrays]:
    """scikit-learn's digits.csv.gz (64 pixels in 0..16, then the label): one split `all`, (N, 1, 8, 8) in 0..255."""
    path = raw_dir / "digits.csv.gz"
    try:
        with gzip.open(path, "rt", encoding="ascii") as fh:
            text = fh.read()
        table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float64, ndmin=2) if text.strip() else None
    except (*DECODE_ERRORS, ValueError) as err:
        raise DataError(f"{path}: not a readable gzipped digits CSV ({one_line(err)}); {refetch(path)}") from None
    if table is None:
        raise DataError(f"{path}: empty, no rows; {refetch(path)}")
    if table.ndim != 2 or table.shape[1] != 65 or table[:, :64].min() < 0 or table[:, :64].max() > 16:
        raise DataError(
            f"{path}: expected rows of 64 pixels in 0..16 plus a label, got shape {table.shape}; {refetch(path)}"
        )
    # 0..16 ink levels onto the 0..255 byte range every other source uses.
    pixels = np.rint(table[:, :64] * (255.0 / 16.0)).astype(np.uint8)
    return {"all": Arrays(pixels.reshape(-1, 1, 8, 8), table[:, 64].astype(np.int64))}


# --- IDX (MNIST, Fashion-MNIST): big-endian header, then raw unsigned bytes ------------------

_IDX_UBYTE = 0x08


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes into an array of its declared shape. The header is
    read first, so a file that declares more than MAX_MEMBER_BYTES is refused before it is inflated."""
    try:
        with gzip.open(path, "rb") as fh:
            magic = fh.read(4)
            if len(magic) < 4 or magic[:3] != bytes((0, 0, _IDX_UBYTE)):
                raise DataError(
                    f"{path}: not an IDX file of unsigned bytes (magic {magic.hex() or 'none'}); {refetch(path)}"
                )
            dims = fh.read(4 * magic[3])
            shape = struct.unpack(f">{magic[3]}I", dims) if len(dims) == 4 * magic[3] else None
            if shape is None or math.prod(shape) > MAX_MEMBER_BYTES:
                raise DataError(
                    f"{path}: IDX header declares shape {shape or 'cut short'}, not a plausible "
                    f"upstream file; {refetch(path)}"
                )
            data = fh.read(math.prod(shape) + 1)
    except DECODE_ERRORS as err:
        raise DataError(f"{path}: not a readable gzip file ({one_line(err)}); {refetch(path)}") from None
    if len(data) != math.prod(shape):
        held = f"more than {len(data) - 1}" if len(data) > math.prod(shape) else str(len(data))
        raise DataError(f"{path}: header declares shape {shape} but holds {held} bytes; {refetch(path)}")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def parse_idx(raw_dir: Path, size: int | None = None) -> dict[str, Arrays]:
    """MNIST-style gzipped IDX files (train-*, t10k-*) as splits train and test of (N, 1, H, W) images."""
    splits = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(raw_dir / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(raw_dir / f"{prefix}-labels-idx1-ubyte.gz")
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"{raw_dir}: {prefix} images {images.shape} do not match labels {labels.shape}; "
                f"{refetch(raw_dir / f'{prefix}-labels-idx1-ubyte.gz')}"
            )
        splits[split] = Arrays(images[:, None].copy(), labels.astype(np.int64))
    return splits


# --- CIFAR-10 python version: a tar.gz of pickled batches ------------------------------------


class _CifarUnpickler(pickle.Unpickler):
    """Unpickle only what CIFAR batches contain (dicts, lists, bytes and numpy arrays), so a
    tampered file from a shared folder cannot run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")
        return super().find_class(module, name)


def _load_batch(tar: tarfile.TarFile, member: str, archive: Path) -> dict:
    try:
        info = tar.getmember(member)
        check_member(archive, info, refetch(archive))
        fh = tar.extractfile(info)
        if fh is None:
            raise KeyError(member)
        data = fh.read()
    except KeyError:
        raise DataError(
            f"{archive}: member {member} is missing; is this cifar-10-python.tar.gz? {refetch(archive)}"
        ) from None
    except DECODE_ERRORS as err:
        raise DataError(f"{archive}: not a readable tar.gz ({one_line(err)}); {refetch(archive)}") from None
    try:
        batch = _CifarUnpickler(io.BytesIO(data), encoding="bytes").load()
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
        struct.error,
        MemoryError,
    ) as err:
        raise DataError(
            f"{archive}: member {member} is not a CIFAR batch ({one_line(err)}); {refetch(archive)}"
        ) from None
    if not isinstance(batch, dict):
        raise DataError(
            f"{archive}: member {member} is not a CIFAR batch (a {type(batch).__name__}, not a dict); "
            f"{refetch(archive)}"
        )
    return batch


def parse_cifar10(raw_dir: Path, size: int | None = None) -> dict[str, Arrays]:
    """The CIFAR-10 python archive: its five training batches and its test batch, as (N, 3, 32, 32) splits."""
    archive = raw_dir / "cifar-10-python.tar.gz"
    members = {
        "train": [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)],
        "test": ["cifar-10-batches-py/test_batch"],
    }
    try:
        tar = tarfile.open(archive, "r:gz")
    except DECODE_ERRORS as err:
        raise DataError(f"{archive}: not a readable tar.gz ({one_line(err)}); {refetch(archive)}") from None
    splits = {}
    with tar:
        for split, names in members.items():
            batches = [_load_batch(tar, name, archive) for name in names]
            try:
                data = np.concatenate([np.asarray(b[b"data"], dtype=np.uint8) for b in batches])
                labels = np.concatenate([np.asarray(b[b"labels"], dtype=np.int64) for b in batches])
            except KeyError as err:
                raise DataError(f"{archive}: a {split} batch lacks key {err}; {refetch(archive)}") from None
            except (ValueError, TypeError) as err:
                raise DataError(
                    f"{archive}: a {split} batch holds no byte array ({one_line(err)}); {refetch(archive)}"
                ) from None
            if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != (len(data),):
                raise DataError(
                    f"{archive}: {split} data has shape {data.shape} and labels {labels.shape}, expected "
                    f"(N, 3072) and (N,); {refetch(archive)}"
                )
            splits[split] = Arrays(data.reshape(-1, 3, 32, 32), labels)
    return splits


# --- image folders: <root>/train/<class>/*.jpg and <root>/test/<class>/*.jpg -----------------

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


def decode_image(data: bytes, name: str, size: int) -> np.ndarray:
    """Decode one image to RGB, resize its shorter side to `size` and crop the centre square, as
    the course's test transform does (Resize then CenterCrop). Returns uint8 (3, size, size)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            return resize_crop(img, "RGB", size)
    except (
        OSError,
        UnidentifiedImageError,
        ValueError,
        Image.DecompressionBombError,
        SyntaxError,
        EOFError,
        struct.error,
        zlib.error,
        IndexError,
        TypeError,
    ) as err:  # PIL's plugins raise all of these
        reason = "not an image format PIL knows" if isinstance(err, UnidentifiedImageError) else one_line(err)
        raise DataError(f"{name}: not a readable image ({reason}); remove or replace it") from None


def _image_folder(entries: Iterable[tuple[str, Callable[[], bytes]]], where: str, size: int) -> dict[str, Arrays]:
    """Build splits from (relative path, reader) pairs laid out as <root>/<split>/<class>/<file>."""
    from tqdm import tqdm

    files: dict[str, dict[str, list[tuple[str, Callable[[], bytes]]]]] = {}
    for rel, read in entries:
        parts = rel.split("/")
        if len(parts) < 3 or not parts[-1].lower().endswith(IMAGE_SUFFIXES) or parts[-1].startswith("."):
            continue
        split, cls = parts[-3], parts[-2]
        split = {"valid": "test", "val": "test"}.get(split, split)  # flower_data ships train/valid
        if split in ("train", "test"):
            files.setdefault(split, {}).setdefault(cls, []).append((rel, read))
    if set(files) != {"train", "test"}:
        raise DataError(
            f"{where}: expected train/<class>/ and test/<class>/ (or valid/<class>/) folders of images, "
            f"found splits: {sorted(files) or 'none'}"
        )
    classes = sorted(files["train"])
    if sorted(files["test"]) != classes:
        raise DataError(f"{where}: train classes {classes} differ from test classes {sorted(files['test'])}")
    splits = {}
    for split, by_class in files.items():
        items = [(rel, read, label) for label, cls in enumerate(classes) for rel, read in sorted(by_class[cls])]
        images = np.empty((len(items), 3, size, size), np.uint8)
        for i, (rel, read, _) in enumerate(tqdm(items, desc=f"decoding {split}", disable=None, leave=False)):
            images[i] = decode_image(read(), f"{where}/{rel}" if not rel.startswith("/") else rel, size)
        splits[split] = Arrays(images, np.array([label for *_, label in items], np.int64), tuple(classes))
    return splits


def parse_image_folder_zip(raw_dir: Path, size: int | None = None) -> dict[str, Arrays]:
    """The one .zip in `raw_dir`, of <split>/<class>/<file> images, every member checked before any is read;
    images are (3, size, size), `size` 224 by default."""
    archives = sorted(raw_dir.glob("*.zip"))
    if len(archives) != 1:
        raise DataError(f"{raw_dir}: expected one .zip of an image folder, found {len(archives)}")
    archive = archives[0]

    def read(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        try:
            return zf.read(info)
        except DECODE_ERRORS as err:  # a member's CRC, header or deflate stream is damaged
            raise DataError(
                f"{archive}: member {info.filename} is damaged ({one_line(err)}); {refetch(archive)}"
            ) from None

    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            for info in infos:  # every member checked before any is read
                check_member(archive, info, refetch(archive))
            entries = [(i.filename, (lambda i=i: read(zf, i))) for i in infos if not i.is_dir()]
            return _image_folder(entries, str(archive), size or 224)
    except DECODE_ERRORS as err:
        raise DataError(f"{archive}: not a readable zip ({one_line(err)}); {refetch(archive)}") from None


def parse_image_folder_dir(raw_dir: Path, size: int | None = None) -> dict[str, Arrays]:
    """A folder of <split>/<class>/<file> images; images are (3, size, size), `size` 224 by default."""

    def read(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as err:
            raise DataError(f"{path}: cannot be read ({one_line(err)}); fix its permissions or remove it") from None

    entries = [(str(p.relative_to(raw_dir)), (lambda p=p: read(p))) for p in raw_dir.rglob("*") if p.is_file()]
    return _image_folder(entries, str(raw_dir), size or 224)


# --- tables ------------------------------------------------------------------------------------

PARSERS: dict[str, Callable[..., dict[str, Arrays]]] = {
    "digits_csv": parse_digits_csv,
    "idx": parse_idx,
    "cifar10": parse_cifar10,
    "image_folder_zip": parse_image_folder_zip,
    "image_folder_dir": parse_image_folder_dir,
    "breast_cancer_csv": parse_breast_cancer_csv,
    "admissions_csv": parse_admissions_csv,
    "points_csv": parse_points_csv,
    "table_csv": parse_table_csv,
}
