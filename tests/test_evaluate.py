"""Evaluation: metrics against hand-computed values, and every report the stage writes."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from pipeline.core.store import load_split
from pipeline.inspection.evaluate import binary_report, classification_report, evaluate_model


def test_metrics_match_a_hand_computed_example():
    labels = torch.tensor([0, 0, 1, 1, 2])
    logits = torch.nn.functional.one_hot(torch.tensor([0, 1, 1, 1, 2]), 3).float()
    rep = classification_report(logits, labels, ["a", "b", "c"])
    h = rep["headline"]
    assert h["accuracy"] == 0.8
    assert h["precision_macro"] == pytest.approx((1 + 2 / 3 + 1) / 3, abs=1e-6)
    assert h["recall_macro"] == pytest.approx((0.5 + 1 + 1) / 3, abs=1e-6)
    assert rep["per_class"]["a"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3, abs=1e-6),
        "support": 2,
    }
    assert rep["confusion"].tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    assert h["loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item(), abs=1e-6)


def test_a_class_never_predicted_counts_as_zero_precision():
    rep = classification_report(torch.tensor([[1.0, 0.0]] * 4), torch.tensor([0, 0, 1, 1]), ["x", "y"])
    assert rep["per_class"]["y"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}


def test_evaluate_model_writes_every_report(digits_store, trained_mlp, tmp_path):
    out = {
        "metrics": tmp_path / "m.json",
        "per_class": tmp_path / "pc.json",
        "confusion": tmp_path / "c.csv",
        "confusion_png": tmp_path / "c.png",
    }
    splits = {"val": load_split(digits_store["val"]), "test": load_split(digits_store["test"])}
    headline = evaluate_model(trained_mlp, splits, 100, torch.device("cpu"), out)
    metrics = json.loads(out["metrics"].read_text())
    assert set(metrics) == {"best_epoch", "val", "test"} and metrics["test"] == headline["test"]
    assert set(metrics["test"]) == {"loss", "accuracy", "precision_macro", "recall_macro", "f1_macro"}
    assert metrics["test"]["accuracy"] > 0.8
    rows = list(csv.DictReader(open(out["confusion"])))
    assert len(rows) == len(splits["test"]) and set(rows[0]) == {"actual", "predicted"}
    correct = sum(r["actual"] == r["predicted"] for r in rows) / len(rows)
    assert correct == pytest.approx(metrics["test"]["accuracy"], abs=1e-6)
    assert set(json.loads(out["per_class"].read_text())["test"]) == {str(d) for d in range(10)}
    assert out["confusion_png"].read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("seed", range(12))
def test_metrics_equal_scikit_learns(seed):
    """Our confusion-matrix arithmetic against scikit-learn, including classes that never occur,
    are never predicted, or both."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    g = torch.Generator().manual_seed(seed)
    n = int(torch.randint(2, 8, (1,), generator=g))
    size = int(torch.randint(1, 60, (1,), generator=g))
    labels = torch.randint(0, max(1, n - seed % 3), (size,), generator=g)  # some classes absent
    logits = torch.randn(size, n, generator=g)
    logits[:, -1] -= 10 * (seed % 2)  # the last class is never predicted on odd seeds
    classes = [f"c{i}" for i in range(n)]
    ours = classification_report(logits, labels, classes)
    y, p = labels.numpy(), logits.argmax(1).numpy()
    macro = precision_recall_fscore_support(y, p, labels=list(range(n)), average="macro", zero_division=0)
    per = precision_recall_fscore_support(y, p, labels=list(range(n)), average=None, zero_division=0)
    h = ours["headline"]
    assert h["accuracy"] == pytest.approx(accuracy_score(y, p), abs=1e-6)
    assert (h["precision_macro"], h["recall_macro"], h["f1_macro"]) == pytest.approx(macro[:3], abs=1e-6)
    for i, c in enumerate(classes):
        got = ours["per_class"][c]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == pytest.approx(
            (per[0][i], per[1][i], per[2][i], per[3][i]), abs=1e-6
        )
    b = binary_report(logits[:, 0], labels % 2, ["no", "yes"], True)["headline"]
    ref = precision_recall_fscore_support(
        (labels % 2).numpy(), (logits[:, 0] > 0).long().numpy(), average="binary", pos_label=1, zero_division=0
    )
    assert (b["precision"], b["recall"], b["f1"]) == pytest.approx(ref[:3], abs=1e-6) and "loss" in b
