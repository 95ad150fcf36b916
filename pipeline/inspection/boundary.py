"""Decision boundaries (course lesson 2): where a binary classifier's score crosses 0, drawn over
the points. One drawing function serves the gates (pipeline.training.gates) and every tabular model
(stage boundary@<model>).

A table with two features is drawn in its real plane, one feature as a strip. With more features
the plane is that of the first two principal components of the standardized training rows, and the
region is the model's slice through it: every other component at 0, i.e. at the training mean."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from pipeline.core.store import DatasetInfo, Split
from pipeline.inspection.figures import pyplot, save_png
from pipeline.weights.checkpoint import load_checkpoint

COLORS = ("tab:blue", "tab:red")  # class 0, class 1; the region's colour map runs between them
CMAP = "RdBu_r"
GRID = 200  # cells per side of the region


@dataclass(frozen=True)
class Points:
    """Points to draw: coordinates in the plot's 1 or 2 dimensions, their classes, and how."""

    coords: np.ndarray  # (n, 1) or (n, 2)
    labels: np.ndarray  # (n,) 0/1
    name: str  # legend text
    marker: str = "o"
    size: float = 18.0
    edge: str = "white"


def padded(coords: Sequence[np.ndarray], margin: float = 0.1) -> list[tuple[float, float]]:
    """Per axis (lowest, highest) of all the points, widened by `margin` of the range on each side."""
    stacked = np.concatenate(coords)
    lo, hi = stacked.min(0), stacked.max(0)
    pad = np.maximum((hi - lo) * margin, 0.5 * margin)
    return [(float(a), float(b)) for a, b in zip(lo - pad, hi + pad)]


def _scatter(ax, g, y: np.ndarray) -> None:
    """One group's points at (its first coordinate, `y`), coloured by class."""
    ax.scatter(
        g.coords[:, 0],
        y,
        c=[COLORS[c] for c in g.labels],
        marker=g.marker,
        s=g.size,
        edgecolors=g.edge,
        linewidths=0.6 if g.edge == "white" else 1.5,
        zorder=3,
    )


def draw(
    ax: Any,
    score: Callable[[np.ndarray], np.ndarray],
    extent: Sequence[tuple[float, float]],
    groups: Sequence[Points],
    classes: Sequence[str],
    probabilistic: bool,
    labels: Sequence[str],
    title: str,
) -> list:
    """Draw on `ax` the region of `score` (plot coordinates (m, d) -> scores (m,); class 1 where > 0)
    over `extent` (a (low, high) per axis), the boundary, and the points; returns legend handles.
    A probabilistic score (a logit) shades P(class 1); another shades only its sign."""
    from matplotlib.lines import Line2D

    shade = (lambda s: 1 / (1 + np.exp(-s))) if probabilistic else (lambda s: 0.15 + 0.7 * (s > 0))
    tint = {"cmap": CMAP, "vmin": -0.7, "vmax": 1.7, "alpha": 0.6}  # the colour map's light middle only
    if len(extent) == 1:
        xs = np.linspace(*extent[0], GRID * 2)
        s = score(xs[:, None])
        ax.imshow(shade(s)[None, :], extent=(*extent[0], 0, 1), aspect="auto", origin="lower", **tint)
        for x in (xs[:-1] + xs[1:])[np.diff(np.sign(s)) != 0] / 2:
            ax.axvline(x, color="black", linewidth=1.5)
        jitter = np.random.default_rng(0)
        for g in groups:  # class 0 along y = 0.3, class 1 along y = 0.7, jittered so clouds show
            _scatter(ax, g, 0.3 + 0.4 * g.labels + jitter.uniform(-0.08, 0.08, len(g.labels)) * (g.size < 50))
        ax.set(ylim=(0, 1), yticks=[0.3, 0.7], yticklabels=[f"class {c}" for c in classes], xlabel=labels[0])
    else:
        xs, ys = np.linspace(*extent[0], GRID), np.linspace(*extent[1], GRID)
        xx, yy = np.meshgrid(xs, ys)
        s = score(np.stack([xx.ravel(), yy.ravel()], 1)).reshape(xx.shape)
        ax.imshow(
            shade(s), extent=(*extent[0], *extent[1]), aspect="auto", origin="lower", interpolation="bilinear", **tint
        )
        if s.min() < 0 < s.max():
            ax.contour(xx, yy, s, levels=[0], colors="black", linewidths=1.5)
        for g in groups:
            _scatter(ax, g, g.coords[:, 1])
        ax.set(xlim=extent[0], ylim=extent[1], xlabel=labels[0], ylabel=labels[1])
    ax.set_title(title, fontsize=10)
    kind = f"P({classes[1]}) shaded" if probabilistic else "predicted class shaded"
    return (
        [Line2D([], [], color=c, marker="o", linestyle="", label=f"class {name}") for c, name in zip(COLORS, classes)]
        + [
            Line2D(
                [],
                [],
                color="grey",
                marker=g.marker,
                linestyle="",
                markeredgecolor=g.edge,
                markersize=9 if g.size >= 50 else 6,
                label=g.name,
            )
            for g in groups
        ]
        + [Line2D([], [], color="black", label=f"boundary (score 0); {kind}")]
    )


def scorer(model: torch.nn.Module, to_inputs: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Plot coordinates -> the model's score on the raw inputs `to_inputs` makes of them."""

    def score(coords: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(to_inputs(coords)).float()).double().numpy()

    return score


def plane(info: DatasetInfo, train: Split) -> tuple[Callable[[np.ndarray], np.ndarray], Callable, list[str], bool]:
    """(raw rows -> plot coordinates, plot coordinates -> raw rows, axis labels, whether the plot is a
    slice through principal components). The features themselves for 1 or 2 of them."""
    if len(info.features) <= 2:
        return (lambda x: x), (lambda c: c), list(info.features), False
    mean, std = np.asarray(info.mean), np.asarray(info.std)
    z = (train.inputs.double().numpy() - mean) / std
    _, sv, vt = np.linalg.svd(z - z.mean(0), full_matrices=False)
    axes = vt[:2] * np.sign(vt[:2, np.argmax(np.abs(vt[:2]), 1)].diagonal())[:, None]  # sign: largest loading > 0
    share = sv[:2] ** 2 / (sv**2).sum()
    return (
        (lambda x: ((x - mean) / std) @ axes.T),
        (lambda c: mean + std * (c @ axes)),
        [f"PC{i + 1} ({share[i]:.0%} of variance)" for i in range(2)],
        True,
    )


def plot_model_boundary(checkpoint: str | Path, splits: dict[str, Split], info: DatasetInfo, out: str | Path) -> dict:
    """reports/<model>/boundary.png: the model's region and boundary over its dataset's splits
    (train, val, test). Returns the test accuracy and the plane drawn."""
    model, ckpt = load_checkpoint(checkpoint)
    project, unproject, labels, pca = plane(info, splits["train"])
    markers = {"train": ("o", 14.0), "val": ("s", 22.0), "test": ("^", 30.0)}
    groups = [
        Points(project(s.inputs.double().numpy()), s.labels.numpy(), name, *markers.get(name, ("o", 14.0)))
        for name, s in splits.items()
    ]
    test = splits.get("test", splits["train"])
    with torch.no_grad():
        accuracy = ((model(test.inputs.float()) > 0) == test.labels).double().mean().item()
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 7.5 if len(labels) == 2 else 3.8))
    title = f"{ckpt['model']} ({ckpt['arch']}) on {ckpt['dataset']}: test accuracy {accuracy:.3f}" + (
        "\nslice through the training mean in the plane of the first two principal components\n"
        "of the standardized training rows (every other component at 0)"
        if pca
        else ""
    )
    handles = draw(
        ax,
        scorer(model, unproject),
        padded([g.coords for g in groups]),
        groups,
        ckpt["spec"]["classes"],
        ckpt["spec"]["probabilistic"],
        labels,
        title,
    )
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.1 if len(labels) == 2 else 0.2, 1, 1))
    save_png(fig, out)
    return {"test_accuracy": accuracy, "pca": pca}
