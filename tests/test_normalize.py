"""normalize: seeded stratified splits, statistics from the training split only, the store."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.core.errors import DataError
from pipeline.core.store import load_split, read_info
from pipeline.data.normalize import channel_stats, normalize_dataset, stratified_split
from pipeline.data.sources import facts, read_source
from pipeline.schema.normalize import NormalizeParams
from tests.conftest import ROOT, fetch, make_idx_dataset

# MNIST's facts from its real entry, for raw folders made in the test (make_idx_dataset).
MNIST = facts("mnist", read_source(ROOT / "datasets" / "mnist", "mnist"))


def test_stratified_split_keeps_class_proportions_and_is_seeded():
    labels = np.repeat(np.arange(5), [100, 50, 20, 10, 200])
    kept, held = stratified_split(labels, 0.2, np.random.default_rng(3))
    assert np.bincount(labels[held]).tolist() == [20, 10, 4, 2, 40]
    assert len(np.intersect1d(kept, held)) == 0 and len(kept) + len(held) == len(labels)
    again, _ = stratified_split(labels, 0.2, np.random.default_rng(3))
    other, _ = stratified_split(labels, 0.2, np.random.default_rng(4))
    assert np.array_equal(kept, again) and not np.array_equal(kept, other)


def test_channel_stats_per_channel():
    images = np.zeros((4, 3, 2, 2), np.uint8)
    images[:, 1] = 255
    images[:2, 2] = 255
    mean, std = channel_stats(images)
    assert mean == pytest.approx([0.0, 1.0, 0.5]) and std == pytest.approx([0.0, 0.0, 0.5])


def store_paths(tmp_path):
    return {s: tmp_path / f"{s}.pt" for s in ("train", "val", "test")}, tmp_path / "stats.json"


def test_digits_get_a_seeded_stratified_test_split(tmp_path):
    digits = fetch("digits", tmp_path / "raw")
    paths, stats = store_paths(tmp_path)
    info = normalize_dataset(
        digits, tmp_path / "raw", NormalizeParams(val_fraction=0.15, test_fraction=0.2, seed=0), paths, stats
    )
    splits = {s: load_split(p) for s, p in paths.items()}
    assert info.counts == {s: len(v) for s, v in splits.items()} and sum(info.counts.values()) == 1797
    assert 355 <= info.counts["test"] <= 365
    for split in splits.values():  # every class in every split, in proportion
        counts = torch.bincount(split.labels, minlength=10)
        assert counts.min() >= 0.8 * counts.float().mean()
    train = splits["train"].inputs.numpy()
    assert info.mean == pytest.approx(channel_stats(train)[0]) and info.shape == [1, 8, 8]
    assert read_info(stats) == info
    # Same seed, same bytes; another seed, another split.
    paths2, stats2 = store_paths(tmp_path / "again")
    normalize_dataset(
        digits, tmp_path / "raw", NormalizeParams(val_fraction=0.15, test_fraction=0.2, seed=0), paths2, stats2
    )
    assert paths2["test"].read_bytes() == paths["test"].read_bytes()


def test_official_test_split_stays_the_test_split(tmp_path):
    make_idx_dataset(tmp_path / "raw", n_train=300, n_test=100)
    paths, stats = store_paths(tmp_path)
    info = normalize_dataset(MNIST, tmp_path / "raw", NormalizeParams(val_fraction=0.2, seed=1), paths, stats)
    assert info.counts["test"] == 100 and info.counts["train"] + info.counts["val"] == 300
    assert info.classes == [str(d) for d in range(10)] and info.shape == [1, 28, 28]
    test = load_split(paths["test"])
    assert test.inputs.dtype == torch.uint8 and test.labels.dtype == torch.int64


def test_labels_outside_the_class_range_are_an_error(tmp_path):
    from tests.conftest import write_idx

    make_idx_dataset(tmp_path / "raw", n_train=50, n_test=20)
    write_idx(tmp_path / "raw" / "t10k-labels-idx1-ubyte.gz", np.full(20, 12, np.uint8))
    paths, stats = store_paths(tmp_path)
    with pytest.raises(DataError, match=r"test labels outside 0..9"):
        normalize_dataset(MNIST, tmp_path / "raw", NormalizeParams(val_fraction=0.2, seed=1), paths, stats)
    assert not stats.exists()


def test_a_corrupt_store_file_is_named(tmp_path):
    (tmp_path / "train.pt").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"train.pt: corrupt \(File is not a zip file\); rerun"):
        load_split(tmp_path / "train.pt")
