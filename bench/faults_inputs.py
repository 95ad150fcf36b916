"""Bad input files, one per way a real file goes wrong, for the fault matrix (bench/faults.py) and
tests/test_bad_inputs.py: every format the pipeline reads, each written for real into a folder
and handed to the reader the pipeline calls. Each case should end in one clear line (a
PipelineError), never a traceback and never a result.

    from bench.faults_inputs import run_cases
    for row in run_cases(tmp_folder): print(row)   # {case, format, error, message, lines, clear, traceback}
"""

from __future__ import annotations

import gzip
import os
import pickle
import tarfile
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from bench.faults_files import (  # the files and the damage the cases are built from
    Evil,
    cifar_pickle,
    cut_half,
    digits_csv_gz,
    flip_bytes,
    png_bad_crc,
    png_bytes,
    put,
    tar_add,
    tar_huge,
    write_aclimdb,
    write_checkpoint,
    write_cifar,
    write_idx_folder,
    write_image_dir,
    write_image_zip,
    write_store,
    zero_bytes,
    zip_bomb,
    zip_symlink,
)
from pipeline.core.errors import PipelineError

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
STORE, CKPT = "pipeline.core.store:load_split", "pipeline.weights.checkpoint:load_checkpoint"
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
    Case(
        "digits csv truncated gzip",
        "digits CSV",
        DIGITS,
        lambda f: cut_half(put("digits.csv.gz", digits_csv_gz())(f) / "digits.csv.gz").parent,
    ),
    Case("digits csv empty", "digits CSV", DIGITS, put("digits.csv.gz", gzip.compress(b""))),
    Case("cifar truncated tar.gz", "CIFAR pickle", CIFAR, lambda f: write_cifar(f, cut=True)),
    Case(
        "cifar forbidden global",
        "CIFAR pickle",
        CIFAR,
        lambda f: write_cifar(f, pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2)),
    ),
    Case(
        "cifar truncated pickle",
        "CIFAR pickle",
        CIFAR,
        lambda f: write_cifar(f, cifar_pickle({b"data": np.zeros((10, 3072), np.uint8), b"labels": [0] * 10})[:500]),
    ),
    Case("cifar batch not a dict", "CIFAR pickle", CIFAR, lambda f: write_cifar(f, pickle.dumps([1, 2, 3]))),
    Case("cifar member is a symlink", "tar archive", CIFAR, lambda f: write_cifar(f, link=True)),
    Case(
        "zip member with ..",
        "zip archive",
        ZIP,
        lambda f: write_image_zip(f, lambda zf: zf.writestr("../train/cat/x.png", png_bytes())),
    ),
    Case(
        "zip member with absolute path",
        "zip archive",
        ZIP,
        lambda f: write_image_zip(f, lambda zf: zf.writestr("/tmp/train/cat/x.png", png_bytes())),
    ),
    Case("zip member is a symlink", "zip archive", ZIP, lambda f: write_image_zip(f, zip_symlink)),
    Case("zip bomb (declared size)", "zip archive", ZIP, lambda f: zip_bomb(f, 1000, 0xFFFFFFF0)),
    Case("zip bomb (actual size)", "zip archive", ZIP, lambda f: zip_bomb(f, 20_000_000, 1000)),
    Case(
        "zip truncated",
        "zip archive",
        ZIP,
        lambda f: cut_half(write_image_zip(f, lambda zf: None) / "images.zip").parent,
    ),
    Case(
        "tar member with ..",
        "tar archive",
        ACL,
        lambda f: write_aclimdb(f, lambda tar: tar_add(tar, "aclImdb/../../evil.txt", b"x")),
    ),
    Case(
        "tar member with absolute path",
        "tar archive",
        ACL,
        lambda f: write_aclimdb(f, lambda tar: tar_add(tar, "/etc/evil.txt", b"x")),
    ),
    Case(
        "tar member is a symlink",
        "tar archive",
        ACL,
        lambda f: write_aclimdb(f, lambda tar: tar_add(tar, "aclImdb/train/pos/9_9.txt", **SYMLINK)),
    ),
    Case("tar member declares 2 GB", "tar archive", ACL, tar_huge),
    Case(
        "tar truncated",
        "tar archive",
        ACL,
        lambda f: cut_half(write_aclimdb(f, review=os.urandom(200_000).hex().encode()) / "aclImdb_v1.tar.gz").parent,
    ),
    Case("png truncated", "image", DIR, lambda f: write_image_dir(f, "train/cat/bad.png", png_bytes(9, 64)[:300])),
    Case(
        "jpeg truncated",
        "image",
        DIR,
        lambda f: write_image_dir(f, "train/cat/bad.jpg", png_bytes(0, 64, "JPEG")[:400]),
    ),
    Case(
        "jpeg corrupt header",
        "image",
        DIR,
        lambda f: write_image_dir(f, "train/cat/bad.jpg", b"\xff\xd8\xff" + bytes(200)),
    ),
    Case("png corrupt chunk", "image", DIR, lambda f: write_image_dir(f, "train/cat/bad.png", png_bad_crc())),
    Case("text file named .jpg", "image", DIR, lambda f: write_image_dir(f, "test/dog/notes.jpg", b"just some text")),
    Case(
        "corpus invalid UTF-8",
        "text",
        f"{T}:read_plain_text",
        put("anna.txt", b"Happy families.\n" + b"\xff\xfe" * 600),
    ),
    Case(
        "reviews invalid UTF-8", "text", f"{T}:read_reviews_txt", put("reviews.txt", b"good\n\xc3\x28 bad\n", REVIEWS)
    ),
    Case("reviews empty", "text", f"{T}:read_reviews_txt", put("reviews.txt", b"", put("labels.txt", b""))),
    Case("aclImdb review invalid UTF-8", "text", ACL, lambda f: write_aclimdb(f, review=b"caf\xe9 latte")),
    Case(
        "pydoc topics not a dict literal",
        "text",
        f"{T}:read_pydoc_topics",
        put("topics.py", b"topics = open('/etc/passwd')\n"),
    ),
    Case("csv empty", "CSV", ADMISSIONS, put("student_data.csv", b"")),
    Case("csv header only", "CSV", ADMISSIONS, put("student_data.csv", b"admit,gre,gpa,rank\n")),
    Case("csv ragged row", "CSV", ADMISSIONS, put("student_data.csv", TABLE + b"1,700,3.9\n")),
    Case("csv not a number", "CSV", ADMISSIONS, put("student_data.csv", TABLE + b"1,seven hundred,3.9,2\n")),
    Case("csv wrong header", "CSV", ADMISSIONS, put("student_data.csv", b"a,b,c,d\n1,2,3,4\n")),
    Case("csv NaN value", "CSV", POINTS, put("data.csv", b"0.1,0.2,1\nnan,0.3,0\n")),
    Case("csv invalid UTF-8", "CSV", POINTS, put("data.csv", b"0.1,0.2,1\n\xff\xfe,0.3,0\n")),
    Case(
        "csv NUL byte",
        "CSV",
        f"{F}:parse_breast_cancer_csv",
        put("breast_cancer.csv", b"569,30,malignant,benign\n1\x00,2\n"),
    ),
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
        return {
            "case": case.name,
            "format": case.format,
            "error": type(err).__name__,
            "message": (text.splitlines() or [""])[0],
            "lines": len(text.splitlines()),
            "clear": isinstance(err, PipelineError) and len(text.splitlines()) == 1,
            "traceback": not isinstance(err, PipelineError),
        }
    return {
        "case": case.name,
        "format": case.format,
        "error": None,
        "message": "(read without an error)",
        "lines": 0,
        "clear": False,
        "traceback": False,
    }


def run_cases(folder: str | os.PathLike, cases: list[Case] | None = None) -> list[dict]:
    """Every case (or `cases`), each in its own subfolder of `folder`."""
    return [run_case(case, Path(folder) / f"{i:02d}") for i, case in enumerate(CASES if cases is None else cases)]


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        rows = run_cases(tmp)
    for r in rows:
        print(
            f"{'ok ' if r['clear'] else 'BAD'} {r['format']:<13} {r['case']:<34} {r['error'] or '-':<14} "
            f"{r['message'][:150]}"
        )
    print(f"{sum(r['clear'] for r in rows)}/{len(rows)} clear")
    sys.exit(0 if all(r["clear"] for r in rows) else 1)
