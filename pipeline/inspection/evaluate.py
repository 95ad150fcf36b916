"""Evaluation of a trained classifier: loss, accuracy, precision, recall and F1 (macro and per
class for several classes; of the positive class for two), with scikit-learn's definitions, and a
confusion matrix as DVC plot data and as a PNG. Works for every family whose model maps a batch of stored
inputs to logits: images, tables, reviews."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.core.errors import TrainingError, rerun_hint
from pipeline.core.io import write_csv, write_json
from pipeline.core.store import relabel
from pipeline.inspection.figures import pyplot, save_png
from pipeline.inspection.metrics import confusion_matrix, per_class_scores
from pipeline.models import predict
from pipeline.weights.checkpoint import load_checkpoint

DIGITS = 6  # metrics are rounded so that diffs show real changes, not float noise


def _round(v) -> float:
    return round(float(v), DIGITS)


def _per_class(scores: dict[str, torch.Tensor], classes: Sequence[str]) -> dict:
    return {
        c: {
            "precision": _round(scores["precision"][i]),
            "recall": _round(scores["recall"][i]),
            "f1": _round(scores["f1"][i]),
            "support": int(scores["support"][i]),
        }
        for i, c in enumerate(classes)
    }


def classification_report(logits: torch.Tensor, labels: torch.Tensor, classes: Sequence[str]) -> dict:
    """Headline metrics (macro averages over every class), per-class metrics and the confusion
    matrix of one split."""
    pred = logits.argmax(1)
    matrix = confusion_matrix(labels, pred, len(classes))
    scores = per_class_scores(matrix)
    return {
        "headline": {
            "loss": _round(F.cross_entropy(logits, labels)),
            "accuracy": _round((pred == labels).double().mean()),
            "precision_macro": _round(scores["precision"].mean()),
            "recall_macro": _round(scores["recall"].mean()),
            "f1_macro": _round(scores["f1"].mean()),
        },
        "per_class": _per_class(scores, classes),
        "confusion": matrix.numpy(),
    }


def binary_report(scores: torch.Tensor, labels: torch.Tensor, classes: Sequence[str], probabilistic: bool) -> dict:
    """For one output per sample: class 1 when the score is above 0; precision, recall and F1 of
    class 1. The log-loss only for models whose score is a logit (logistic regression, the LSTM),
    not for the perceptron's margin."""
    pred = (scores > 0).long()
    matrix = confusion_matrix(labels, pred, 2)
    per = per_class_scores(matrix)
    headline = {
        "accuracy": _round((pred == labels).double().mean()),
        "precision": _round(per["precision"][1]),
        "recall": _round(per["recall"][1]),
        "f1": _round(per["f1"][1]),
    }
    if probabilistic:
        headline = {"loss": _round(F.binary_cross_entropy_with_logits(scores, labels.float()))} | headline
    return {"headline": headline, "per_class": _per_class(per, classes), "confusion": matrix.numpy()}


def write_confusion_csv(path: str | Path, labels: torch.Tensor, logits: torch.Tensor, classes: Sequence[str]) -> None:
    """One row per sample (actual, predicted class name): the input of DVC's `confusion` template."""
    pred = (logits.argmax(1) if logits.ndim == 2 else (logits > 0).long()).tolist()
    write_csv(path, ["actual", "predicted"], [[classes[a], classes[p]] for a, p in zip(labels.tolist(), pred)])


def write_confusion_png(path: str | Path, matrix: np.ndarray, classes: Sequence[str], title: str) -> None:
    """The confusion matrix as a PNG picture, one cell per (actual, predicted) pair, with its count."""
    plt = pyplot()
    size = 2.5 + 0.45 * len(classes)
    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    ax.imshow(matrix, cmap="Blues")
    ax.set(xticks=range(len(classes)), yticks=range(len(classes)), xlabel="predicted", ylabel="actual", title=title)
    ax.set_xticklabels(classes, rotation=45, ha="right")
    ax.set_yticklabels(classes)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=8, color="white" if count > threshold else "black")
    fig.tight_layout()
    save_png(fig, path)


def write_reports(reports: dict[str, dict], extra: dict, metrics_json: str | Path, per_class_json: str | Path) -> None:
    """Per-class details first, headline metrics last (the file DVC compares)."""
    write_json(per_class_json, {split: rep["per_class"] for split, rep in reports.items()})
    write_json(metrics_json, extra | {split: rep["headline"] for split, rep in reports.items()})


def check_finite(headline: dict, scores: torch.Tensor, checkpoint: str | Path, split: str) -> None:
    """A NaN or infinite output or metric is a broken model, not a result: fail before writing anything."""
    bad = [f"{k} {v}" for k, v in headline.items() if not math.isfinite(v)]
    if bad or not torch.isfinite(scores).all():
        raise TrainingError(
            f"{checkpoint}: non-finite {', '.join(bad) or 'outputs'} on the {split} split (a corrupt "
            f"checkpoint or diverged training); {rerun_hint(checkpoint, 'train')}"
        )


def evaluate_model(
    checkpoint: str | Path, splits: dict, batch_size: int, device: torch.device, out: dict[str, str | Path]
) -> dict:
    """Evaluate a classifier checkpoint on each split in `splits` ({'val': Split, 'test': Split});
    write the reports named in `out` (metrics, per_class, confusion, confusion_png; the last two
    for test). Labels are mapped the way the model was trained (label_map) first."""
    model, ckpt = load_checkpoint(checkpoint)
    model.to(device)
    spec = ckpt["spec"]
    classes = spec["classes"]
    reports, test = {}, None
    for name, split in splits.items():
        if ckpt.get("label_map"):
            split, _ = relabel(split, ckpt["dataset_classes"], ckpt["label_map"], "label_map")
        scores = predict(model, split.inputs.to(device), batch_size).cpu()
        if spec.get("binary"):
            reports[name] = binary_report(scores, split.labels, classes, spec.get("probabilistic", True))
        else:
            reports[name] = classification_report(scores, split.labels, classes)
        check_finite(reports[name]["headline"], scores, checkpoint, name)
        if name == "test":
            test = (split.labels, scores)
    write_confusion_csv(out["confusion"], *test, classes)
    write_confusion_png(
        out["confusion_png"],
        reports["test"]["confusion"],
        classes,
        f"{ckpt['model']} on {ckpt['dataset']} (test split)",
    )
    extra = {"best_epoch": ckpt["epoch"]} | ckpt.get("metrics_extra", {})
    write_reports(reports, extra, out["metrics"], out["per_class"])
    return {name: rep["headline"] for name, rep in reports.items()}
