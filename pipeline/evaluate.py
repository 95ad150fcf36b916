"""Evaluation of a trained classifier: loss, accuracy, precision, recall and F1 (macro and per
class, by scikit-learn) and a confusion matrix as DVC plot data and as a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.checkpoint import load_checkpoint
from pipeline.io import atomic_open, write_csv, write_json
from pipeline.models import predict

DIGITS = 6  # metrics are rounded so that diffs show real changes, not float noise


def classification_report(logits: torch.Tensor, labels: torch.Tensor, classes: Sequence[str]) -> dict:
    """Headline metrics, per-class metrics and the confusion matrix of one split."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true, y_pred = labels.numpy(), logits.argmax(1).numpy()
    ids = list(range(len(classes)))
    macro = precision_recall_fscore_support(y_true, y_pred, labels=ids, average="macro", zero_division=0)
    per = precision_recall_fscore_support(y_true, y_pred, labels=ids, average=None, zero_division=0)
    r = lambda v: round(float(v), DIGITS)  # noqa: E731
    return {
        "headline": {"loss": r(F.cross_entropy(logits, labels)), "accuracy": r((y_true == y_pred).mean()),
                     "precision_macro": r(macro[0]), "recall_macro": r(macro[1]), "f1_macro": r(macro[2])},
        "per_class": {c: {"precision": r(per[0][i]), "recall": r(per[1][i]), "f1": r(per[2][i]),
                          "support": int(per[3][i])} for i, c in enumerate(classes)},
        "confusion": confusion_matrix(y_true, y_pred, labels=ids),
    }


def write_confusion_csv(path: str | Path, labels: torch.Tensor, logits: torch.Tensor, classes: Sequence[str]) -> None:
    """One row per sample (actual, predicted class name): the input of DVC's `confusion` template."""
    pred = logits.argmax(1).tolist()
    write_csv(path, ["actual", "predicted"], [[classes[a], classes[p]] for a, p in zip(labels.tolist(), pred)])


def write_confusion_png(path: str | Path, matrix: np.ndarray, classes: Sequence[str], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = 2.5 + 0.45 * len(classes)
    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    ax.imshow(matrix, cmap="Blues")
    ax.set(xticks=range(len(classes)), yticks=range(len(classes)), xlabel="predicted", ylabel="actual", title=title)
    ax.set_xticklabels(classes, rotation=45, ha="right")
    ax.set_yticklabels(classes)
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=8,
                color="white" if count > threshold else "black")
    fig.tight_layout()
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", metadata={"Software": None})
    plt.close(fig)


def write_reports(reports: dict[str, dict], extra: dict, metrics_json: str | Path, per_class_json: str | Path) -> None:
    """Per-class details first, headline metrics last (the file DVC compares)."""
    write_json(per_class_json, {split: rep["per_class"] for split, rep in reports.items()})
    write_json(metrics_json, extra | {split: rep["headline"] for split, rep in reports.items()})


def evaluate_model(checkpoint: str | Path, splits: dict, batch_size: int, device: torch.device,
                   out: dict[str, str | Path]) -> dict:
    """Evaluate a checkpoint on each split in `splits` ({'val': Split, 'test': Split}); write the
    reports named in `out` (metrics, per_class, confusion, confusion_png; the last two for test)."""
    model, ckpt = load_checkpoint(checkpoint)
    model.to(device)
    classes = ckpt["classes"]
    reports = {}
    for name, split in splits.items():
        logits = predict(model, split.images.to(device), batch_size).cpu()
        reports[name] = classification_report(logits, split.labels, classes)
        if name == "test":
            write_confusion_csv(out["confusion"], split.labels, logits, classes)
    write_confusion_png(out["confusion_png"], reports["test"]["confusion"], classes,
                        f"{ckpt['model']} on {ckpt['dataset']} (test split)")
    write_reports(reports, {"best_epoch": ckpt["epoch"]}, out["metrics"], out["per_class"])
    return {name: rep["headline"] for name, rep in reports.items()}
