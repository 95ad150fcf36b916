"""The real download code against a local HTTP server on 127.0.0.1 serving files in the exact
upstream layouts: mirrors in order, retries, checksums, and nothing left behind on failure."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.core.errors import DataError
from pipeline.data import download
from pipeline.data.fetch import fetch_dataset
from pipeline.data.formats import parse_cifar10, parse_idx
from pipeline.data.sources import read_source
from pipeline.schema.download import DownloadParams, problems
from tests.conftest import (
    ROOT,
    dead_url,
    fetch,
    make_cifar_archive,
    make_idx_dataset,
    md5,
)

IDX_FILES = [
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
]


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(download, "BACKOFF_S", 0.0)


@pytest.fixture
def mnist_site(server):
    """The server holds MNIST-format files under /mnist/; returns their checksums."""
    return make_idx_dataset(server.root / "mnist")


def fetch_mnist(out, mirrors, checksums, **kw) -> list[Path]:
    """The real mnist entry (datasets/mnist/) fetched into `out` with these download params."""
    folder = ROOT / "datasets" / "mnist"
    cfg = DownloadParams(mirrors=mirrors, checksums=checksums, **kw)
    return fetch_dataset("mnist", read_source(folder, "mnist"), cfg, folder, out)


def assert_nothing_left(out):
    assert not out.exists()
    assert not out.with_name(out.name + ".partial").exists()


def test_downloads_idx_files_that_parse(server, mnist_site, tmp_path):
    out = tmp_path / "raw" / "mnist"
    paths = fetch_mnist(out, [server.url + "mnist/"], mnist_site)
    assert sorted(p.name for p in paths) == IDX_FILES
    assert {p.name: md5(p) for p in out.iterdir()} == mnist_site
    splits = parse_idx(out)
    assert splits["train"].inputs.shape == (600, 1, 28, 28) and splits["test"].labels.shape == (200,)


def test_dead_first_mirror_falls_through_and_is_skipped_afterwards(server, mnist_site, tmp_path, caplog):
    out = tmp_path / "mnist"
    with caplog.at_level(logging.INFO):
        fetch_mnist(out, [dead_url(), server.url + "mnist/"], mnist_site)
    assert sorted(p.name for p in out.iterdir()) == IDX_FILES
    assert len(server.requests) == 4  # one request per file: the dead mirror was tried once only
    assert caplog.text.count("downloaded") == 4


def test_missing_file_on_first_mirror_tries_the_next(server, mnist_site, tmp_path):
    (server.root / "old").mkdir()
    out = tmp_path / "mnist"
    fetch_mnist(out, [server.url + "old/", server.url + "mnist/"], mnist_site)
    assert len(list(out.iterdir())) == 4
    assert sum(r.startswith("/old/") for r in server.requests) == 4  # a 404 is not retried


def test_transient_errors_are_retried_on_the_same_mirror(server, mnist_site, tmp_path):
    server.fail("/mnist/train-images", 503, times=2)
    server.fail("/mnist/t10k-images", "truncate", times=1)
    out = tmp_path / "mnist"
    fetch_mnist(out, [server.url + "mnist/"], mnist_site, retries=3)
    assert {p.name: md5(p) for p in out.iterdir()} == mnist_site
    assert server.requests.count("/mnist/train-images-idx3-ubyte.gz") == 3


def test_wrong_checksum_fails_naming_file_and_urls_and_leaves_nothing(server, mnist_site, tmp_path):
    bad = dict(mnist_site, **{"train-labels-idx1-ubyte.gz": "0" * 32})
    out = tmp_path / "mnist"
    with pytest.raises(DataError) as err:
        fetch_mnist(out, [server.url + "mnist/", server.url + "mirror2/"], bad)
    message = str(err.value)
    assert "could not download train-labels-idx1-ubyte.gz for dataset 'mnist'" in message
    assert f"{server.url}mnist/train-labels-idx1-ubyte.gz: MD5" in message and "does not match" in message
    assert f"{server.url}mirror2/train-labels-idx1-ubyte.gz: HTTP 404" in message
    assert "download.mnist.mirrors" in message and "download.mnist.local_dir" in message
    assert_nothing_left(out)


def test_all_mirrors_failing_names_every_url_tried(server, mnist_site, tmp_path):
    dead = dead_url()
    server.fail("/mnist/", 500)
    out = tmp_path / "mnist"
    with pytest.raises(DataError) as err:
        fetch_mnist(out, [dead, server.url + "mnist/"], mnist_site, retries=2)
    message = str(err.value)
    assert f"{dead}train-images-idx3-ubyte.gz: unreachable" in message
    assert "attempt 1: HTTP 500" in message and "attempt 2: HTTP 500" in message
    assert_nothing_left(out)


def test_cifar_archive_downloads_and_parses(server, tmp_path):
    sums = make_cifar_archive(server.root / "kriz")
    out = tmp_path / "cifar10"
    fetch("cifar10", out, mirrors=[server.url + "kriz/"], checksums=sums)
    splits = parse_cifar10(out)
    assert splits["train"].inputs.shape == (200, 3, 32, 32) and splits["test"].inputs.shape == (40, 3, 32, 32)


def test_local_folder_is_copied_and_checked_where_a_checksum_is_given(mnist_site, server, tmp_path):
    local = server.root / "mnist"
    out = tmp_path / "mnist"
    fetch_mnist(out, [], mnist_site, local_dir=str(local))
    assert {p.name: md5(p) for p in out.iterdir()} == mnist_site
    # Upstream checksums apply when none is given: these small files are not the real MNIST.
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz has MD5 .* expected f68b3c2d"):
        fetch_mnist(tmp_path / "again", [], {}, local_dir=str(local))
    assert_nothing_left(tmp_path / "again")
    # A copied file is always checked: null no longer skips a file's check, it is rejected.
    skip = {name: None for name in mnist_site}
    with pytest.raises(ValidationError) as err:
        DownloadParams(local_dir=str(local), checksums=skip)
    assert sorted(e["loc"] for e in err.value.errors()) == sorted(("checksums", name) for name in mnist_site)


def test_local_folder_missing_a_file(tmp_path):
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz not found: download.mnist.local_dir"):
        fetch_mnist(tmp_path / "out", [], {}, local_dir=str(tmp_path))


def test_bundled_digits_are_copied_and_verified(tmp_path):
    out = tmp_path / "digits"
    fetch("digits", out)
    assert md5(out / "digits.csv.gz") == "9b335364a7bfd63947c7480a5bd51f2d"


def test_download_params_that_disagree_with_the_dataset_entry_are_reported():
    def entry(name):
        return read_source(ROOT / "datasets" / name, name)

    # course_reviews publishes no MD5: a copy must be checked against one given in params.
    reviews = problems("course_reviews", entry("course_reviews"), DownloadParams(mirrors=["https://example.org/"]))
    assert [p.split(":")[0] for p in reviews] == [
        "download.course_reviews.checksums.reviews.txt",
        "download.course_reviews.checksums.labels.txt",
    ]
    assert all("publishes no checksum" in p for p in reviews)
    given = {"reviews.txt": "0" * 32, "labels.txt": "1" * 32}
    assert (
        problems(
            "course_reviews", entry("course_reviews"), DownloadParams(mirrors=["https://example.org/"], checksums=given)
        )
        == []
    )
    # digits ships with scikit-learn: there is nothing to download.
    digits = problems("digits", entry("digits"), DownloadParams(mirrors=["https://example.org/"]))
    assert digits == ["download.digits: 'digits' ships with sklearn; remove mirrors and local_dir"]
    assert problems("digits", entry("digits"), DownloadParams()) == []
