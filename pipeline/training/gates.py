"""Perceptrons as logical operators (course lesson 2): AND, OR and NOT are one line each, XOR is
not linearly separable and needs a hidden layer. Each gate's data is its truth table plus a noisy
cloud of points around each row (seeded), the clouds split into training and held-out points;
the model is any tabular arch, trained by pipeline.training.tabular's code."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from pipeline.core.io import write_json
from pipeline.core.store import DatasetInfo, Split
from pipeline.inspection.boundary import Points, draw, scorer
from pipeline.inspection.figures import pyplot, save_png
from pipeline.schema.gates import GatesData
from pipeline.training.tabular import train_tabular
from pipeline.weights.checkpoint import load_checkpoint

log = logging.getLogger(__name__)

_TWO = [[0, 0], [0, 1], [1, 0], [1, 1]]
# gate -> (the inputs of each truth-table row, the output of each)
GATES = {
    "AND": (_TWO, [0, 0, 0, 1]),
    "OR": (_TWO, [0, 1, 1, 1]),
    "NOT": ([[0], [1]], [1, 0]),
    "XOR": (_TWO, [0, 1, 1, 0]),
}
CLASSES = ["false", "true"]
EXTENT = (-0.6, 1.6)  # the unit square and a margin, per input


@dataclass(frozen=True)
class GateData:
    truth: Split  # the truth table, exactly
    train: Split  # the truth table and most of the noisy points
    val: Split  # the held-out noisy points
    info: DatasetInfo


def make_gate(gate: str, d: GatesData) -> GateData:
    """Gate `gate`'s data: its truth table and seeded noisy points around each row, split into training and
    held-out points, with the training split's statistics."""
    rows, outputs = GATES[gate]
    truth = Split(torch.tensor(rows, dtype=torch.float32), torch.tensor(outputs))
    g = torch.Generator().manual_seed(d.seed + list(GATES).index(gate))  # each gate its own stream
    noisy = truth.inputs.repeat_interleave(d.per_corner, 0)
    noisy = noisy + d.noise * torch.randn(noisy.shape, generator=g)
    labels = truth.labels.repeat_interleave(d.per_corner)
    order = torch.randperm(len(labels), generator=g)
    held = order[: max(1, round(len(labels) * d.val_fraction))]
    kept = order[len(held) :]
    train = Split(torch.cat([truth.inputs, noisy[kept]]), torch.cat([truth.labels, labels[kept]]))
    x = train.inputs.double()
    features = ["x1", "x2"] if len(rows[0]) == 2 else ["x"]
    info = DatasetInfo(
        dataset=f"gates/{gate}",
        source="gates",
        kind="tabular",
        classes=CLASSES,
        shape=[len(features)],
        mean=x.mean(0).tolist(),
        std=x.std(0, unbiased=False).tolist(),
        counts={"train": len(train), "val": len(held)},
        features=features,
    )
    return GateData(truth, train, Split(noisy[held], labels[held]), info)


def _accuracy(model: torch.nn.Module, data: Split) -> float:
    with torch.no_grad():
        return ((model(data.inputs) > 0) == data.labels).double().mean().item()


def run_gates(name: str, p: Any, d: GatesData, metrics: str | Path, plot: str | Path) -> dict:
    """Train gates model `name` (params `p` of a tabular arch) on every gate; write the figure, then
    the metrics (per gate: accuracy on the truth table and on the held-out points, validation loss)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(GATES), figsize=(4.2 * len(GATES), 4.6))
    results, handles = {}, []
    for ax, gate in zip(axes, GATES):
        data = make_gate(gate, d)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            result = train_tabular(
                f"{name}/{gate}",
                p,
                data.train,
                data.val,
                data.info,
                out / "model.pt",
                out / "loss.csv",
                out / "accuracy.csv",
                key=f"gates.models.{name}",
            )
            model, ckpt = load_checkpoint(out / "model.pt")
        truth, held = _accuracy(model, data.truth), _accuracy(model, data.val)
        results[gate] = {
            "truth_table_accuracy": round(truth, 6),
            "heldout_accuracy": round(held, 6),
            "val_loss": round(result.best_val_loss, 6),
            "best_epoch": result.best_epoch,
            **ckpt["metrics_extra"],
        }
        log.info("%s on %s: truth table %.2f, held-out %.2f", name, gate, truth, held)
        noisy = [
            Points(s.inputs.numpy(), s.labels.numpy(), what, marker, size)
            for s, what, marker, size in (
                (data.train, "training points", "o", 16.0),
                (data.val, "held-out points", "D", 16.0),
            )
        ]
        corners = Points(data.truth.inputs.numpy(), data.truth.labels.numpy(), "truth table", "s", 150.0, "black")
        handles = draw(
            ax,
            scorer(model, lambda c: c),
            [EXTENT] * data.truth.inputs.shape[1],
            [*noisy, corners],
            CLASSES,
            ckpt["spec"]["probabilistic"],
            data.info.features,
            f"{gate}: truth table {truth:.0%}, held-out {held:.0%}",
        )
    fig.suptitle(f"gates.models.{name} ({p.arch}): learned boundaries", fontsize=12)
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    save_png(fig, plot)
    write_json(metrics, results)
    return results
