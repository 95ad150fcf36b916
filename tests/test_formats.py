"""Parsers of the upstream formats: shapes, dtypes, and clear errors for malformed files."""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile

import numpy as np
import pytest

from pipeline.core.errors import DataError
from pipeline.data.formats import parse_cifar10, parse_digits_csv, read_idx
from tests.conftest import fetch, make_cifar_archive, write_idx


def test_real_bundled_digits(tmp_path):
    fetch("digits", tmp_path / "d")
    arrays = parse_digits_csv(tmp_path / "d")["all"]
    assert arrays.inputs.shape == (1797, 1, 8, 8) and arrays.inputs.dtype == np.uint8
    assert arrays.inputs.max() == 255 and arrays.inputs.min() == 0
    assert np.bincount(arrays.labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_idx_round_trip_and_bad_files(tmp_path):
    data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "ok.gz", data)
    assert np.array_equal(read_idx(tmp_path / "ok.gz"), data)

    with gzip.open(tmp_path / "magic.gz", "wb") as fh:
        fh.write(b"\x00\x00\x0d\x01" + (3).to_bytes(4, "big") + b"abc")  # 0x0d: floats, not bytes
    with pytest.raises(DataError, match="magic.gz: not an IDX file of unsigned bytes"):
        read_idx(tmp_path / "magic.gz")

    with gzip.open(tmp_path / "short.gz", "wb") as fh:
        fh.write(b"\x00\x00\x08\x01" + (10).to_bytes(4, "big") + b"abc")
    with pytest.raises(DataError, match=r"short.gz: header declares shape \(10,\) but holds 3 bytes"):
        read_idx(tmp_path / "short.gz")

    (tmp_path / "plain.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="plain.gz: not a readable gzip file"):
        read_idx(tmp_path / "plain.gz")


def test_cifar_archive_in_the_upstream_layout(tmp_path):
    make_cifar_archive(tmp_path, per_batch=10)
    splits = parse_cifar10(tmp_path)
    assert splits["train"].inputs.shape == (50, 3, 32, 32) and splits["train"].inputs.dtype == np.uint8
    assert splits["test"].labels.dtype == np.int64 and len(splits["test"].labels) == 10


def test_cifar_batch_that_would_run_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2)
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(buf.getvalue())
    with pytest.raises(DataError, match=r"data_batch_1 is not a CIFAR batch \(global \w+\.print is not allowed"):
        parse_cifar10(tmp_path)


def test_cifar_archive_missing_a_member(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz"):
        pass
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(buf.getvalue())
    with pytest.raises(DataError, match="member cifar-10-batches-py/data_batch_1 is missing"):
        parse_cifar10(tmp_path)
