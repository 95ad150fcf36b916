"""Classification metrics from a confusion matrix, with scikit-learn's definitions
(zero_division=0). Computed in torch because importing sklearn.metrics takes seconds, paid by every
evaluate stage; tests/test_evaluate.py checks every figure against scikit-learn."""

from __future__ import annotations

import torch


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, n: int) -> torch.Tensor:
    """(n, n) counts: row = actual class, column = predicted class."""
    return torch.bincount(y_true.long() * n + y_pred.long(), minlength=n * n).view(n, n)


def per_class_scores(matrix: torch.Tensor) -> dict[str, torch.Tensor]:
    """Precision, recall, F1 and support of every class."""
    m = matrix.double()
    tp, predicted, actual = m.diagonal(), m.sum(0), m.sum(1)
    precision = torch.where(predicted > 0, tp / predicted.clamp(min=1), 0.0)
    recall = torch.where(actual > 0, tp / actual.clamp(min=1), 0.0)
    denominator = 2 * tp + (predicted - tp) + (actual - tp)
    f1 = torch.where(denominator > 0, 2 * tp / denominator.clamp(min=1), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual.long()}
