"""Each model beside a scikit-learn baseline on the same split, after `make repro`:
logistic regression and the perceptron against sklearn's LogisticRegression and Perceptron, the
sentiment LSTM against a bag-of-words logistic regression (which cannot read negation).

    python bench/baselines.py        (from the repository root, with .venv active)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from pipeline.core.store import load_split  # noqa: E402


def split(folder: str):
    return [load_split(Path(folder) / f"{s}.pt") for s in ("train", "val", "test")]


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    needed = [
        Path("data/processed/breast_cancer"),
        Path("data/processed/synthetic_reviews"),
        Path("metrics/logreg.json"),
    ]
    if missing := [str(p) for p in needed if not p.exists()]:
        raise SystemExit(f"{', '.join(missing)} not found: run `make repro` first, from the repository root")
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression, Perceptron
    from sklearn.preprocessing import StandardScaler

    metrics = {m: json.load(open(f"metrics/{m}.json")) for m in ("logreg", "perceptron", "sentiment")}
    train, val, test = split("data/processed/breast_cancer")
    x = np.concatenate([train.inputs.numpy(), val.inputs.numpy()])
    y = np.concatenate([train.labels.numpy(), val.labels.numpy()])
    scaler = StandardScaler().fit(x)
    rows = [
        ("breast cancer, test", "logreg (ours, gradient descent)", metrics["logreg"]["test"]["accuracy"]),
        (
            "",
            "sklearn LogisticRegression",
            LogisticRegression(max_iter=5000)
            .fit(scaler.transform(x), y)
            .score(scaler.transform(test.inputs.numpy()), test.labels.numpy()),
        ),
        ("", "perceptron (ours, perceptron trick)", metrics["perceptron"]["test"]["accuracy"]),
        (
            "",
            "sklearn Perceptron",
            Perceptron(random_state=0)
            .fit(scaler.transform(x), y)
            .score(scaler.transform(test.inputs.numpy()), test.labels.numpy()),
        ),
    ]
    train, val, test = split("data/processed/synthetic_reviews")
    vocab = 2 + len(json.load(open("data/processed/synthetic_reviews/vocab.json"))["words"])

    def bag(s):  # word counts from the stored word codes (0 = padding is dropped)
        codes = s.inputs.numpy()
        counts = np.stack([np.bincount(r[r > 0], minlength=vocab) for r in codes])
        return csr_matrix(counts)

    words = LogisticRegression(max_iter=5000).fit(bag(train), train.labels.numpy())
    rows += [
        ("synthetic reviews, test", "sentiment LSTM (ours)", metrics["sentiment"]["test"]["accuracy"]),
        ("", "bag-of-words LogisticRegression", words.score(bag(test), test.labels.numpy())),
    ]
    print(f"{'data':<24} {'model':<38} {'accuracy':>8}")
    for data, model, acc in rows:
        print(f"{data:<24} {model:<38} {acc:8.4f}")


if __name__ == "__main__":
    main()
