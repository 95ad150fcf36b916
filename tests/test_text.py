"""Text for the LSTMs: corpora (pydoc topics, the course's anna.txt over HTTP), the reviews
pipeline (tokenizer, vocabulary, padding, the course's files, IMDB's archive) and the synthetic
reviews, which must be learnable but not by counting words."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from pipeline.core.errors import DataError
from pipeline.core.io import load_torch, read_json
from pipeline.core.store import load_split
from pipeline.data.text import (
    build_vocab,
    encode_reviews_dataset,
    encode_text_dataset,
    pad_features,
    read_reviews_txt,
    tokenize,
)
from pipeline.schema.encode import EncodeReviewsParams, EncodeTextParams
from tests.conftest import ROOT, fetch, write_aclimdb


def _generator_module():
    """datasets/synthetic_reviews/generate.py, the script the download stage runs (not a package module)."""
    path = ROOT / "datasets" / "synthetic_reviews" / "generate.py"
    spec = importlib.util.spec_from_file_location("synthetic_reviews_generate", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


synthetic_review = _generator_module().synthetic_review


def test_pydoc_corpus_is_read_as_data_and_encoded_in_sorted_order(tmp_path):
    pydoc = fetch("pydoc", tmp_path / "raw")
    info = encode_text_dataset(
        pydoc, tmp_path / "raw", EncodeTextParams(val_fraction=0.1), tmp_path / "tokens.pt", tmp_path / "vocab.json"
    )
    tokens = load_torch(tmp_path / "tokens.pt")
    assert info["chars"] == sorted(info["chars"]) and info["characters"] > 100_000
    assert (
        len(tokens["val"]) == info["characters"] // 10
        and len(tokens["train"]) + len(tokens["val"]) == info["characters"]
    )
    text = "".join(info["chars"][i] for i in tokens["train"][:40].tolist())
    assert text.startswith('The "assert" statement')  # topics in key order; the first is 'assert'
    again = encode_text_dataset(
        pydoc, tmp_path / "raw", EncodeTextParams(val_fraction=0.1), tmp_path / "t2.pt", tmp_path / "v2.json"
    )
    assert again == info and (tmp_path / "t2.pt").read_bytes() == (tmp_path / "tokens.pt").read_bytes()


def test_anna_karenina_downloads_with_its_checksum(server, course_files, tmp_path):
    import shutil

    shutil.copy(course_files / "anna.txt", server.root / "anna.txt")
    anna = fetch("anna", tmp_path / "raw", mirrors=[server.url])
    info = encode_text_dataset(
        anna, tmp_path / "raw", EncodeTextParams(val_fraction=0.1), tmp_path / "tokens.pt", tmp_path / "vocab.json"
    )
    assert info["characters"] == 1_985_223 and len(info["chars"]) == 83  # after CRLF -> LF, as the course reads it
    assert "\r" not in info["chars"]


def test_tokenizer_vocabulary_and_padding():
    assert tokenize("Not BAD, at all!  <br />Truly...") == ["not", "bad", "at", "all", "br", "truly"]
    vocab = build_vocab([["b", "a", "c"], ["a", "b"], ["a"]], min_count=1)
    assert vocab == ["a", "b", "c"]  # by frequency, ties alphabetical
    assert build_vocab([["b", "a", "c"], ["a", "b"], ["a"]], min_count=2) == ["a", "b"]
    index = {w: i + 2 for i, w in enumerate(vocab)}
    padded = pad_features([["a", "zzz"], ["c", "b", "a", "a", "b"]], index, 4)
    assert padded.tolist() == [[0, 0, 2, 1], [4, 3, 2, 2]]  # left pad with 0; unknown 1; truncate to the first 4


def test_review_files_must_pair_up(tmp_path):
    (tmp_path / "reviews.txt").write_text("great film\nawful film\n")
    (tmp_path / "labels.txt").write_text("positive\n")
    with pytest.raises(DataError, match="2 reviews but 1 labels"):
        read_reviews_txt(tmp_path)
    (tmp_path / "labels.txt").write_text("positive\nmeh\n")
    with pytest.raises(DataError, match=r"labels must be positive or negative, got \['meh'\]"):
        read_reviews_txt(tmp_path)


def test_the_vocabulary_comes_from_the_training_split_only(tmp_path):
    reviews = fetch("synthetic_reviews", tmp_path / "raw", generate={"samples": 400, "seed": 1})
    (tmp_path / "raw" / "reviews.txt").open("a").write("zebra zebra zebra\n")
    (tmp_path / "raw" / "labels.txt").open("a").write("positive\n")
    paths = {s: tmp_path / f"{s}.pt" for s in ("train", "val", "test")}
    cfg = EncodeReviewsParams(seq_length=60, min_count=1, val_fraction=0.1, test_fraction=0.1, seed=0)
    info = encode_reviews_dataset(reviews, tmp_path / "raw", cfg, paths, tmp_path / "vocab.json")
    splits = {s: load_split(p) for s, p in paths.items()}
    assert info["counts"] == {s: len(v) for s, v in splits.items()} and sum(info["counts"].values()) == 401
    # The zebra review landed in one split; its word is in the vocabulary only if that split is train.
    if "zebra" in info["words"]:
        code = info["words"].index("zebra") + 2
        assert (splits["train"].inputs == code).sum() == 3
        assert not any((splits[s].inputs == code).any() for s in ("val", "test"))
    else:  # held out: three unknown words (code 1) in one val/test row, and nowhere else
        rows = sum(int(((splits[s].inputs == 1).sum(1) == 3).sum()) for s in ("val", "test"))
        assert rows == 1 and not (splits["train"].inputs == 1).any()
    assert splits["train"].inputs.shape[1] == 60 and splits["train"].inputs.dtype == torch.int64


def test_reviews_without_a_word_are_dropped_before_padding_and_counted(tmp_path, caplog):
    """The course drops zero-length reviews (its reviews.txt has one) before padding: a review of
    nothing, or of punctuation only, would be an all-padding row with a label."""
    reviews = fetch("synthetic_reviews", tmp_path / "raw", generate={"samples": 200, "seed": 1})
    texts = (tmp_path / "raw" / "reviews.txt").read_text().splitlines()
    labels = (tmp_path / "raw" / "labels.txt").read_text().splitlines()
    texts[10:10], labels[10:10] = ["", " !!! ... "], ["positive", "negative"]  # two empty reviews inside the file
    (tmp_path / "raw" / "reviews.txt").write_text("\n".join(texts) + "\n")
    (tmp_path / "raw" / "labels.txt").write_text("\n".join(labels) + "\n")
    paths = {s: tmp_path / f"{s}.pt" for s in ("train", "val", "test")}
    cfg = EncodeReviewsParams(seq_length=30, min_count=1, val_fraction=0.1, test_fraction=0.1, seed=0)
    with caplog.at_level("INFO"):
        info = encode_reviews_dataset(reviews, tmp_path / "raw", cfg, paths, tmp_path / "vocab.json")
    assert info["dropped_empty"] == 2 and read_json(tmp_path / "vocab.json")["dropped_empty"] == 2
    assert sum(info["counts"].values()) == 200
    assert "2 without a word dropped" in caplog.text
    for split in paths.values():  # every row has at least one word code
        assert (load_split(split).inputs != 0).any(dim=1).all()


def test_synthetic_reviews_are_generated_by_the_download_path_and_recorded_as_synthetic(tmp_path):
    facts = fetch("synthetic_reviews", tmp_path / "raw", generate={"samples": 50, "seed": 0})
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["labels.txt", "reviews.txt"]
    texts, labels = read_reviews_txt(tmp_path / "raw")["all"]
    assert len(texts) == 50 and len(labels) == 50
    rng = np.random.default_rng(0)  # the generator's own reviews, in order, from the seed in params
    assert list(zip(texts, labels)) == [synthetic_review(rng) for _ in range(50)]
    assert facts.synthetic and facts.dataset == facts.source == "synthetic_reviews"
    paths = {s: tmp_path / f"{s}.pt" for s in ("train", "val", "test")}
    cfg = EncodeReviewsParams(seq_length=20, min_count=1, val_fraction=0.1, test_fraction=0.1, seed=0)
    info = encode_reviews_dataset(facts, tmp_path / "raw", cfg, paths, tmp_path / "vocab.json")
    assert sum(info["counts"].values()) == 50
    vocab = read_json(tmp_path / "vocab.json")
    assert vocab["synthetic"] is True and vocab["source"] == "synthetic_reviews"


def test_imdb_archive_keeps_its_official_test_half(server, tmp_path):
    rows = {
        "train": [("A wonderful film.<br />Loved it", 1), ("Dull and long", 0)] * 10,
        "test": [("Brilliant", 1), ("Awful", 0)] * 5,
    }
    checksum = write_aclimdb(server.root / "aclImdb_v1.tar.gz", rows)
    imdb = fetch("imdb", tmp_path / "raw", mirrors=[server.url], checksums={"aclImdb_v1.tar.gz": checksum})
    paths = {s: tmp_path / f"{s}.pt" for s in ("train", "val", "test")}
    info = encode_reviews_dataset(
        imdb,
        tmp_path / "raw",
        EncodeReviewsParams(seq_length=8, min_count=1, val_fraction=0.2, seed=0),
        paths,
        tmp_path / "vocab.json",
    )
    assert info["counts"] == {"train": 16, "val": 4, "test": 10}
    assert "br" not in info["words"] and "wonderful" in info["words"]  # <br /> markup removed


def test_synthetic_reviews_are_deterministic_and_need_more_than_word_counts(tmp_path):
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    a = [synthetic_review(np.random.default_rng(7)) for _ in range(3)]
    b = [synthetic_review(np.random.default_rng(7)) for _ in range(3)]
    assert a == b
    rng = np.random.default_rng(0)
    reviews = [synthetic_review(rng) for _ in range(3000)]
    texts, labels = [t for t, _ in reviews], [y for _, y in reviews]
    assert 0.4 < np.mean(labels) < 0.6
    assert sum(" not " in t or " never " in t or " hardly " in t for t in texts) > 1000  # negation is common
    words = CountVectorizer().fit_transform(texts)
    bag = LogisticRegression(max_iter=3000).fit(words[:2000], labels[:2000]).score(words[2000:], labels[2000:])
    assert 0.75 < bag < 0.95, bag  # word counts carry signal, but cannot read "not dull"
