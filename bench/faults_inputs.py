"""Bad input files, one per way a real file goes wrong, for the fault matrix (bench/faults.py) and
tests/test_bad_inputs.py: every format the pipeline reads, each written for real into a folder
and handed to the reader the pipeline calls. Each case should end in one clear line (a
PipelineError), never a traceback and never a result.

    from bench.faults_inputs import run_cases
    for row in run_cases(tmp_folder): print(row)   # {case, format, error, message, lines, clear, traceback}
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import stat
import struct
import tarfile
import traceback
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pipeline.core.errors import PipelineError

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


def _zip_symlink(zf: zipfile.ZipFile) -> None:
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


def _tar_add(tar: tarfile.TarFile, name: str, data: bytes = b"", **kw: Any) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for k, v in kw.items():
        setattr(info, k, v)
    tar.addfile(info, io.BytesIO(data) if data else None)


def write_aclimdb(folder: Path, extra: Callable[[tarfile.TarFile], None] = lambda tar: None,
                  review: bytes = b"A fine film.") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / "aclImdb_v1.tar.gz", "w:gz") as tar:
        for split in ("train", "test"):
            for label in ("pos", "neg"):
                _tar_add(tar, f"aclImdb/{split}/{label}/0_7.txt", review)
        extra(tar)
    return folder


def _cifar_pickle(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def write_cifar(folder: Path, batch: bytes | None = None, cut: bool = False, link: bool = False) -> Path:
    """cifar-10-python.tar.gz with 10 random images per batch; `batch` replaces data_batch_1, or
    `link` makes it a symbolic link to /etc/passwd."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    good = _cifar_pickle({b"data": rng.integers(0, 255, (10, 3072), dtype=np.uint8), b"labels": list(range(10))})
    path = folder / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            if link and name == "data_batch_1":
                _tar_add(tar, f"cifar-10-batches-py/{name}", type=tarfile.SYMTYPE, linkname="/etc/passwd")
                continue
            data = batch if batch is not None and name == "data_batch_1" else good
            _tar_add(tar, f"cifar-10-batches-py/{name}", data)
    if cut:
        cut_half(path)
    return folder


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def write_store(folder: Path) -> Path:
    import torch

    from pipeline.data.store import Split, save_split

    images, labels = _digits()
    path = folder / "train.pt"
    save_split(Split(torch.from_numpy(images[:500, None].copy()), torch.from_numpy(labels[:500].astype(np.int64))),
               path)
    return path


def write_checkpoint(folder: Path, weights: float | None = None) -> Path:
    """A real checkpoint of a small MLP for 8x8 digits (its weights all `weights` if given)."""
    import torch

    from pipeline.checkpoint import save_checkpoint
    from pipeline.core.params import arch_schema
    from pipeline.models import build_model

    p = arch_schema("mlp", "arch").model_validate(
        dict(arch="mlp", dataset="digits", hidden=[256], dropout=0.0, optimizer="sgd", lr=0.01, momentum=0.9,
             weight_decay=0.0, batch_size=32, epochs=1, patience=1, seed=0, device="cpu"))
    spec = {"input_shape": [1, 8, 8], "classes": [str(i) for i in range(10)], "mean": [0.3], "std": [0.4]}
    torch.manual_seed(0)
    model = build_model("mlp", p, spec)
    if weights is not None:
        with torch.no_grad():
            for t in model.parameters():
                t.fill_(weights)
    path = folder / "model.pt"
    save_checkpoint(path, model=model, optimizer=None, epoch=1, metrics={},
                    meta={"model": "mlp", "arch": "mlp", "params": p.model_dump(), "spec": spec, "dataset": "digits"})
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
    data[start + 64: start + 64 + min(4096, size - 64)] = bytes(min(4096, size - 64))
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


def _tar_huge(folder: Path) -> Path:
    """A tar member whose header declares 2 GB (the archive then ends): refused before reading."""
    info = tarfile.TarInfo("aclImdb/train/pos/0_9.txt")
    info.size = 2 << 30
    return put("aclImdb_v1.tar.gz", gzip.compress(info.tobuf(tarfile.GNU_FORMAT) + bytes(4096), mtime=0))(folder)


def _png_bad_crc() -> bytes:
    data = bytearray(png_bytes(3, 32))
    at = data.find(b"IDAT") + 20
    data[at: at + 8] = bytes(8)  # damaged pixel data: its chunk CRC no longer matches
    return bytes(data)


def _digits_csv_gz() -> bytes:
    rows = np.random.default_rng(0).integers(0, 17, (500, 64))
    return gzip.compress(b"".join(b",".join(b"%d" % v for v in [*r, i % 10]) + b"\n" for i, r in enumerate(rows)))


# --- the cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    format: str
    reader: str  # the function the pipeline reads such a file with: "module:function"
    write: Callable[[Path], Path]  # writes the bad file(s) into an empty folder; returns what the reader takes

    def read(self, target: Path) -> Any:
        import importlib

        module, function = self.reader.split(":")
        return getattr(importlib.import_module(module), function)(target)


F, T = "pipeline.data.formats", "pipeline.data.text"
IDX, DIGITS, CIFAR = f"{F}:read_idx", f"{F}:parse_digits_csv", f"{F}:parse_cifar10"
ZIP, DIR, ACL = f"{F}:parse_image_folder_zip", f"{F}:parse_image_folder_dir", f"{T}:read_aclimdb"
STORE, CKPT = "pipeline.data.store:load_split", "pipeline.checkpoint:load_checkpoint"
ADMISSIONS, POINTS = f"{F}:parse_admissions_csv", f"{F}:parse_points_csv"
TABLE = b"admit,gre,gpa,rank\n0,380,3.61,3\n1,660,3.67,3\n"
REVIEWS = put("labels.txt", b"positive\nnegative\n")
SYMLINK = {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}


def _x(write: Callable[[Path], Path], name: str = "x.gz") -> Callable[[Path], Path]:
    return lambda f: write(f) / name


CASES: list[Case] = [
    Case("idx truncated gzip", "IDX", IDX, lambda f: cut_half(write_idx_folder(f) / "train-images-idx3-ubyte.gz")),
    Case("idx wrong magic", "IDX", IDX, _x(put("x.gz", gzip.compress(b"\0\0\x0d\x01\0\0\0\x03abc")))),
    Case("idx wrong count", "IDX", IDX, _x(put("x.gz", gzip.compress(b"\0\0\x08\x01\0\0\0\x0aabc")))),
    Case("idx huge declared shape", "IDX", IDX, _x(put("x.gz", gzip.compress(b"\0\0\x08\x03" + b"\xff" * 12)))),
    Case("idx not gzip", "IDX", IDX, _x(put("x.gz", b"not gzip at all"))),
    Case("idx images and labels disagree", "IDX", f"{F}:parse_idx", lambda f: write_idx_folder(f, labels_cut=3)),
    Case("digits csv truncated gzip", "digits CSV", DIGITS,
         lambda f: cut_half(put("digits.csv.gz", _digits_csv_gz())(f) / "digits.csv.gz").parent),
    Case("digits csv empty", "digits CSV", DIGITS, put("digits.csv.gz", gzip.compress(b""))),
    Case("cifar truncated tar.gz", "CIFAR pickle", CIFAR, lambda f: write_cifar(f, cut=True)),
    Case("cifar forbidden global", "CIFAR pickle", CIFAR,
         lambda f: write_cifar(f, pickle.dumps({b"data": _Evil(), b"labels": []}, protocol=2))),
    Case("cifar truncated pickle", "CIFAR pickle", CIFAR,
         lambda f: write_cifar(f, _cifar_pickle({b"data": np.zeros((10, 3072), np.uint8), b"labels": [0] * 10})[:500])),
    Case("cifar batch not a dict", "CIFAR pickle", CIFAR, lambda f: write_cifar(f, pickle.dumps([1, 2, 3]))),
    Case("cifar member is a symlink", "tar archive", CIFAR, lambda f: write_cifar(f, link=True)),
    Case("zip member with ..", "zip archive", ZIP,
         lambda f: write_image_zip(f, lambda zf: zf.writestr("../train/cat/x.png", png_bytes()))),
    Case("zip member with absolute path", "zip archive", ZIP,
         lambda f: write_image_zip(f, lambda zf: zf.writestr("/tmp/train/cat/x.png", png_bytes()))),
    Case("zip member is a symlink", "zip archive", ZIP, lambda f: write_image_zip(f, _zip_symlink)),
    Case("zip bomb (declared size)", "zip archive", ZIP, lambda f: zip_bomb(f, 1000, 0xFFFFFFF0)),
    Case("zip bomb (actual size)", "zip archive", ZIP, lambda f: zip_bomb(f, 20_000_000, 1000)),
    Case("zip truncated", "zip archive", ZIP,
         lambda f: cut_half(write_image_zip(f, lambda zf: None) / "images.zip").parent),
    Case("tar member with ..", "tar archive", ACL,
         lambda f: write_aclimdb(f, lambda tar: _tar_add(tar, "aclImdb/../../evil.txt", b"x"))),
    Case("tar member with absolute path", "tar archive", ACL,
         lambda f: write_aclimdb(f, lambda tar: _tar_add(tar, "/etc/evil.txt", b"x"))),
    Case("tar member is a symlink", "tar archive", ACL,
         lambda f: write_aclimdb(f, lambda tar: _tar_add(tar, "aclImdb/train/pos/9_9.txt", **SYMLINK))),
    Case("tar member declares 2 GB", "tar archive", ACL, _tar_huge),
    Case("tar truncated", "tar archive", ACL,
         lambda f: cut_half(write_aclimdb(f, review=os.urandom(200_000).hex().encode()) / "aclImdb_v1.tar.gz").parent),
    Case("png truncated", "image", DIR, lambda f: write_image_dir(f, "train/cat/bad.png", png_bytes(9, 64)[:300])),
    Case("jpeg truncated", "image", DIR,
         lambda f: write_image_dir(f, "train/cat/bad.jpg", png_bytes(0, 64, "JPEG")[:400])),
    Case("jpeg corrupt header", "image", DIR,
         lambda f: write_image_dir(f, "train/cat/bad.jpg", b"\xff\xd8\xff" + bytes(200))),
    Case("png corrupt chunk", "image", DIR, lambda f: write_image_dir(f, "train/cat/bad.png", _png_bad_crc())),
    Case("text file named .jpg", "image", DIR, lambda f: write_image_dir(f, "test/dog/notes.jpg", b"just some text")),
    Case("corpus invalid UTF-8", "text", f"{T}:read_plain_text",
         put("anna.txt", b"Happy families.\n" + b"\xff\xfe" * 600)),
    Case("reviews invalid UTF-8", "text", f"{T}:read_reviews_txt",
         put("reviews.txt", b"good\n\xc3\x28 bad\n", REVIEWS)),
    Case("reviews empty", "text", f"{T}:read_reviews_txt", put("reviews.txt", b"", put("labels.txt", b""))),
    Case("aclImdb review invalid UTF-8", "text", ACL, lambda f: write_aclimdb(f, review=b"caf\xe9 latte")),
    Case("pydoc topics not a dict literal", "text", f"{T}:read_pydoc_topics",
         put("topics.py", b"topics = open('/etc/passwd')\n")),
    Case("csv empty", "CSV", ADMISSIONS, put("student_data.csv", b"")),
    Case("csv header only", "CSV", ADMISSIONS, put("student_data.csv", b"admit,gre,gpa,rank\n")),
    Case("csv ragged row", "CSV", ADMISSIONS, put("student_data.csv", TABLE + b"1,700,3.9\n")),
    Case("csv not a number", "CSV", ADMISSIONS, put("student_data.csv", TABLE + b"1,seven hundred,3.9,2\n")),
    Case("csv wrong header", "CSV", ADMISSIONS, put("student_data.csv", b"a,b,c,d\n1,2,3,4\n")),
    Case("csv NaN value", "CSV", POINTS, put("data.csv", b"0.1,0.2,1\nnan,0.3,0\n")),
    Case("csv invalid UTF-8", "CSV", POINTS, put("data.csv", b"0.1,0.2,1\n\xff\xfe,0.3,0\n")),
    Case("csv NUL byte", "CSV", f"{F}:parse_breast_cancer_csv",
         put("breast_cancer.csv", b"569,30,malignant,benign\n1\x00,2\n")),
    Case("tensor store flipped bytes", "tensor store", STORE, lambda f: flip_bytes(write_store(f))),
    Case("tensor store zeroed block", "tensor store", STORE, lambda f: zero_bytes(write_store(f))),
    Case("tensor store truncated", "tensor store", STORE, lambda f: cut_half(write_store(f))),
    Case("tensor store empty file", "tensor store", STORE, _x(put("train.pt", b""), "train.pt")),
    Case("checkpoint flipped bytes", "checkpoint", CKPT, lambda f: flip_bytes(write_checkpoint(f))),
    Case("checkpoint truncated", "checkpoint", CKPT, lambda f: cut_half(write_checkpoint(f))),
    Case("checkpoint with NaN weights", "checkpoint", CKPT, lambda f: write_checkpoint(f, float("nan"))),
]


# --- running them ----------------------------------------------------------------------------


def run_case(case: Case, folder: Path) -> dict:
    """Write the case's file into `folder` (created empty), call its reader, and report what it raised:
    {case, format, error (type name, or None if it raised nothing), message (first line),
    lines (how many the message has), clear (a one-line PipelineError), traceback (another exception:
    a stage would print a traceback)}; error None means the bad file was read as if good."""
    folder.mkdir(parents=True, exist_ok=False)
    target = case.write(folder)
    try:
        case.read(target)
    except Exception as err:  # noqa: BLE001 - the point is to see what escapes
        text = str(err) if isinstance(err, PipelineError) else "".join(traceback.format_exception_only(err)).strip()
        return {"case": case.name, "format": case.format, "error": type(err).__name__,
                "message": (text.splitlines() or [""])[0], "lines": len(text.splitlines()),
                "clear": isinstance(err, PipelineError) and len(text.splitlines()) == 1,
                "traceback": not isinstance(err, PipelineError)}
    return {"case": case.name, "format": case.format, "error": None, "message": "(read without an error)",
            "lines": 0, "clear": False, "traceback": False}


def run_cases(folder: str | os.PathLike, cases: list[Case] | None = None) -> list[dict]:
    """Every case (or `cases`), each in its own subfolder of `folder`."""
    return [run_case(case, Path(folder) / f"{i:02d}") for i, case in enumerate(CASES if cases is None else cases)]


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        rows = run_cases(tmp)
    for r in rows:
        print(f"{'ok ' if r['clear'] else 'BAD'} {r['format']:<13} {r['case']:<34} {r['error'] or '-':<14} "
              f"{r['message'][:150]}")
    print(f"{sum(r['clear'] for r in rows)}/{len(rows)} clear")
    sys.exit(0 if all(r["clear"] for r in rows) else 1)
