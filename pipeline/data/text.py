"""Text for the two LSTMs.

Corpora (character-level LSTM): read, newlines normalized, encoded over a vocabulary in sorted
order (the course's `set()` order changes from run to run), the last `val_fraction` held out.

Reviews (sentiment LSTM): the course's preprocessing: lowercase, punctuation stripped, words
ranked by frequency in the training split (0 pads, 1 stands for a word not in the vocabulary),
each review left-padded or truncated to `seq_length`.
"""

from __future__ import annotations

import ast
import hashlib
import logging
import tarfile
from collections import Counter
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from pipeline.core.errors import DataError, one_line
from pipeline.core.io import save_torch, write_json
from pipeline.core.params import invalid
from pipeline.core.store import Split, save_split
from pipeline.data.facts import Facts
from pipeline.data.integrity import DECODE_ERRORS, check_member, refetch
from pipeline.data.own import read_labeled_reviews, read_text_files
from pipeline.data.split import stratified_split
from pipeline.data.words import tokenize
from pipeline.schema.encode import EncodeReviewsParams, EncodeTextParams, review_problems

log = logging.getLogger(__name__)

PAD, UNKNOWN = 0, 1

# --- corpora ---------------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(
            f"{path}: not a readable UTF-8 text file ({one_line(err)}); save it as UTF-8, or {refetch(path)}"
        ) from None


def read_pydoc_topics(raw_dir: Path) -> str:
    """The help topics dict in pydoc_data/topics.py, read as data (never executed)."""
    path = raw_dir / "topics.py"
    try:
        tree = ast.parse(_read_text(path))
        topics = next(
            ast.literal_eval(n.value)
            for n in tree.body
            if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "topics"
        )
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError, StopIteration) as err:
        reason = "not a literal" if isinstance(err, ValueError) else one_line(err)
        raise DataError(f"{path}: no `topics = {{...}}` dictionary of strings ({reason}); {refetch(path)}") from None
    if not isinstance(topics, dict) or not all(isinstance(v, str) for v in topics.values()):
        raise DataError(f"{path}: `topics` is not a dictionary of strings; {refetch(path)}")
    return "\n\n".join(topics[key].strip() for key in sorted(topics))


def read_plain_text(raw_dir: Path) -> str:
    """Every file in `raw_dir` (not in sub-folders), in name order, joined by a newline; each must be UTF-8."""
    files = [p for p in sorted(raw_dir.iterdir()) if p.is_file()]
    return "\n".join(_read_text(p) for p in files)


CORPUS_READERS: dict[str, Callable[[Path], str]] = {
    "pydoc_topics": read_pydoc_topics,
    "plain_text": read_plain_text,
    "text_files": read_text_files,
}


def encode_text_dataset(
    source: Facts, raw_dir: str | Path, cfg: EncodeTextParams, tokens_path: str | Path, vocab_path: str | Path
) -> dict:
    """Write {'train', 'val'} int32 codes and the vocabulary JSON (last)."""
    text = CORPUS_READERS[source.format](Path(raw_dir))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if cfg.max_chars:
        text = text[: cfg.max_chars]
    chars = sorted(set(text))
    if len(text) < 1000:
        raise DataError(f"{raw_dir}: only {len(text)} characters of text; a character model needs more")
    index = {c: i for i, c in enumerate(chars)}
    codes = torch.tensor([index[c] for c in text], dtype=torch.int32)
    n_val = int(len(codes) * cfg.val_fraction)
    save_torch({"train": codes[:-n_val].clone(), "val": codes[-n_val:].clone()}, tokens_path)
    info = {
        "dataset": source.dataset,
        "source": source.source,
        "chars": chars,
        "characters": len(text),
        "train": len(codes) - n_val,
        "val": n_val,
        "text_md5": hashlib.md5(text.encode()).hexdigest(),
    }
    write_json(vocab_path, info)
    log.info("%s: %d characters, %d distinct; %d held out", source.dataset, len(text), len(chars), n_val)
    return info


# --- reviews ---------------------------------------------------------------------------------


def read_reviews_txt(raw_dir: Path) -> dict[str, tuple[list[str], list[int]]]:
    """The course's format: reviews.txt and labels.txt, one review / one label per line."""
    reviews = _read_text(raw_dir / "reviews.txt").splitlines()
    labels = _read_text(raw_dir / "labels.txt").splitlines()
    while reviews and not reviews[-1].strip():
        reviews.pop()
    while labels and not labels[-1].strip():
        labels.pop()
    if not reviews:
        raise DataError(f"{raw_dir}/reviews.txt: no reviews; {refetch(raw_dir / 'reviews.txt')}")
    if len(reviews) != len(labels):
        raise DataError(f"{raw_dir}: {len(reviews)} reviews but {len(labels)} labels; the files must pair up by line")
    bad = sorted({x for x in labels if x.strip() not in ("positive", "negative")})
    if bad:
        raise DataError(f"{raw_dir}/labels.txt: labels must be positive or negative, got {bad[:5]}")
    return {"all": (reviews, [int(x.strip() == "positive") for x in labels])}


def read_aclimdb(raw_dir: Path) -> dict[str, tuple[list[str], list[int]]]:
    """aclImdb_v1.tar.gz: aclImdb/{train,test}/{pos,neg}/<id>_<stars>.txt, read in name order."""
    archive = raw_dir / "aclImdb_v1.tar.gz"
    found: dict[str, list[tuple[str, str, int]]] = {"train": [], "test": []}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                check_member(archive, member, refetch(archive))
                parts = member.name.split("/")
                if member.isfile() and len(parts) == 4 and parts[1] in found and parts[2] in ("pos", "neg"):
                    try:
                        text = tar.extractfile(member).read().decode("utf-8")
                    except UnicodeDecodeError as err:
                        raise DataError(
                            f"{archive}: member {member.name} is not UTF-8 text ({one_line(err)}); {refetch(archive)}"
                        ) from None
                    found[parts[1]].append((member.name, text.replace("<br />", " "), int(parts[2] == "pos")))
    except DECODE_ERRORS as err:
        raise DataError(f"{archive}: not a readable aclImdb archive ({one_line(err)}); {refetch(archive)}") from None
    if not found["train"] or not found["test"]:
        raise DataError(f"{archive}: no aclImdb/train and aclImdb/test reviews inside")
    return {split: ([t for _, t, _ in sorted(rows)], [y for *_, y in sorted(rows)]) for split, rows in found.items()}


REVIEW_READERS: dict[str, Callable[..., dict]] = {
    "reviews_txt": read_reviews_txt,
    "aclimdb": read_aclimdb,
    "labeled_text": read_labeled_reviews,
}  # your own: columns from facts


def tokenize_reviews(
    parsed: dict[str, tuple[list[str], list[int]]],
) -> tuple[dict[str, tuple[list[list[str]], list[int]]], int]:
    """Each review's words, with the course's cleaning: reviews with no word (zero length once
    tokenized) are dropped before padding, since an all-padding input says nothing. Returns the
    token lists with their labels, and how many reviews were dropped."""
    kept, empty = {}, 0
    for group, (texts, labels) in parsed.items():
        tokens = [tokenize(t) for t in texts]
        keep = [i for i, words in enumerate(tokens) if words]
        empty += len(texts) - len(keep)
        kept[group] = ([tokens[i] for i in keep], [labels[i] for i in keep])
    return kept, empty


def build_vocab(token_lists: list[list[str]], min_count: int) -> list[str]:
    """Words by descending frequency (ties alphabetical, so the order is stable); index i + 2."""
    counts = Counter(w for tokens in token_lists for w in tokens)
    return [w for w, c in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0])) if c >= min_count]


def pad_features(token_lists: list[list[str]], index: dict[str, int], seq_length: int) -> torch.Tensor:
    """(N, seq_length) int64: left-padded with 0, or truncated to the first seq_length words."""
    out = torch.zeros(len(token_lists), seq_length, dtype=torch.int64)
    for i, tokens in enumerate(token_lists):
        codes = [index.get(w, UNKNOWN) for w in tokens[:seq_length]]
        if codes:
            out[i, -len(codes) :] = torch.tensor(codes)
    return out


def encode_reviews_dataset(
    source: Facts,
    raw_dir: str | Path,
    cfg: EncodeReviewsParams,
    split_paths: dict[str, str | Path],
    vocab_path: str | Path,
) -> dict:
    """Write {'train', 'val', 'test'} padded word codes (seeded stratified splits; upstream's test split where there
    is one), then the vocabulary JSON, which it returns. Settings that do not fit the data: ConfigError."""
    if found := review_problems(cfg, source):
        raise invalid(found)
    parsed, empty = tokenize_reviews(REVIEW_READERS[source.format](Path(raw_dir), **source.options))
    rng = np.random.default_rng(cfg.seed)
    tokens: dict[str, list[list[str]]] = {}
    labels: dict[str, np.ndarray] = {}
    if source.official_test:
        pool_t, pool_y = parsed["train"][0], np.array(parsed["train"][1])
        tokens["test"], labels["test"] = parsed["test"][0], np.array(parsed["test"][1])
    else:
        all_t, all_y = parsed["all"][0], np.array(parsed["all"][1])
        keep, held = stratified_split(all_y, cfg.test_fraction, rng)
        pool_t, pool_y = [all_t[i] for i in keep], all_y[keep]
        tokens["test"], labels["test"] = [all_t[i] for i in held], all_y[held]
    keep, held = stratified_split(pool_y, cfg.val_fraction, rng)
    tokens["train"], labels["train"] = [pool_t[i] for i in keep], pool_y[keep]
    tokens["val"], labels["val"] = [pool_t[i] for i in held], pool_y[held]
    words = build_vocab(tokens["train"], cfg.min_count)  # training split only: no peeking at test words
    index = {w: i + 2 for i, w in enumerate(words)}
    for split, path in split_paths.items():
        save_split(Split(pad_features(tokens[split], index, cfg.seq_length), torch.from_numpy(labels[split])), path)
    lengths = [len(t) for t in tokens["train"]]
    info = {
        "dataset": source.dataset,
        "source": source.source,
        "synthetic": source.synthetic,
        "classes": list(source.classes),
        "words": words,
        "pad": PAD,
        "unknown": UNKNOWN,
        "seq_length": cfg.seq_length,
        "counts": {s: len(labels[s]) for s in ("train", "val", "test")},
        "dropped_empty": empty,
        "train_length_median": float(np.median(lengths)),
        "truncated_fraction": round(float(np.mean([n > cfg.seq_length for n in lengths])), 6),
    }
    write_json(vocab_path, info)
    log.info(
        "%s: %s reviews, %d words in the vocabulary; %d without a word dropped",
        source.dataset,
        info["counts"],
        len(words),
        empty,
    )
    return info
