"""Evaluation: metrics against hand-computed values, and every report the stage writes."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from pipeline.data.store import load_split
from pipeline.evaluate import classification_report, evaluate_model


def test_metrics_match_a_hand_computed_example():
    labels = torch.tensor([0, 0, 1, 1, 2])
    logits = torch.nn.functional.one_hot(torch.tensor([0, 1, 1, 1, 2]), 3).float()
    rep = classification_report(logits, labels, ["a", "b", "c"])
    h = rep["headline"]
    assert h["accuracy"] == 0.8
    assert h["precision_macro"] == pytest.approx((1 + 2 / 3 + 1) / 3, abs=1e-6)
    assert h["recall_macro"] == pytest.approx((0.5 + 1 + 1) / 3, abs=1e-6)
    assert rep["per_class"]["a"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3, abs=1e-6),
                                     "support": 2}
    assert rep["confusion"].tolist() == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    assert h["loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item(), abs=1e-6)


def test_a_class_never_predicted_counts_as_zero_precision():
    rep = classification_report(torch.tensor([[1.0, 0.0]] * 4), torch.tensor([0, 0, 1, 1]), ["x", "y"])
    assert rep["per_class"]["y"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}


def test_evaluate_model_writes_every_report(digits_store, trained_mlp, tmp_path):
    out = {"metrics": tmp_path / "m.json", "per_class": tmp_path / "pc.json", "confusion": tmp_path / "c.csv",
           "confusion_png": tmp_path / "c.png"}
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
