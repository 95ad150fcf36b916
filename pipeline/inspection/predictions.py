"""The course's `view_classify`, as one picture: a grid of test images, each beside the bar chart of
its top-k class probabilities, misclassified images framed in red. It runs the exported TorchScript
model (exports/<model>/model.ts), not the checkpoint, so it shows what users deploy.

The images are a fixed, seeded choice: up to a quarter of the grid misclassified (all of them if
there are fewer), the rest correct. The PNG is the same bytes on every rerun (Agg, default style,
fixed dpi, no software tag)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from pipeline.core.errors import DataError, PipelineError
from pipeline.core.store import Split, relabel
from pipeline.inspection.figures import save_png
from pipeline.models import as_float
from pipeline.weights.runtimes import load_torchscript

log = logging.getLogger(__name__)

WRONG = "#d62728"  # red: a misclassified image's frame and title
TRUE = "#2ca02c"  # green: the true class's bar
OTHER = "#9aa5b1"  # grey: every other bar (a wrong prediction's is WRONG)
COLUMNS = 4  # image + bars pairs per row
DPI = 100
NAME = 16  # characters of a class name shown; longer ones are cut, so they stay clear of the next picture


def as_trained(test: Split, metadata: dict[str, Any], dataset_classes: Sequence[str], where: str) -> Split:
    """The test split with labels as the model was trained: mapped by its label_map (digit ->
    even/odd), if any. `dataset_classes` are the split's own classes (the dataset's stats.json)."""
    label_map = metadata.get("trained", {}).get("label_map")
    split, classes = relabel(test, list(dataset_classes), label_map, f"{where}: trained.label_map")
    if classes != list(metadata["classes"]):
        raise DataError(
            f"{where}: the model's classes {metadata['classes']} are not the test split's "
            f"{classes}; pass the test split and stats.json of the dataset it was trained on"
        )
    return split


@torch.no_grad()
def class_probabilities(model: Callable, inputs: torch.Tensor, n_classes: int, batch_size: int = 256) -> torch.Tensor:
    """(N, n_classes) probabilities: softmax of the logits, or, for a binary model with one score
    per sample, sigmoid of it as class 1 and its complement as class 0."""
    scores = torch.cat([model(as_float(inputs[i : i + batch_size])) for i in range(0, len(inputs), batch_size)])
    if scores.ndim == 1 and n_classes == 2:
        p1 = torch.sigmoid(scores.double())
        return torch.stack([1 - p1, p1], 1)
    if scores.ndim == 2 and scores.shape[1] == n_classes:
        return torch.softmax(scores.double(), 1)
    raise PipelineError(
        f"the model gives outputs of shape {tuple(scores.shape)} for {len(inputs)} inputs; expected "
        f"({len(inputs)}, {n_classes}) logits, or ({len(inputs)},) scores for 2 classes"
    )


def select(correct: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded choice of up to `count` samples: (misclassified, correct) indices, each sorted.
    Misclassified ones fill up to a quarter of the grid, more only if there are too few correct."""
    wrong_idx, right_idx = np.flatnonzero(~correct), np.flatnonzero(correct)
    n_wrong = min(len(wrong_idx), max(count // 4, count - len(right_idx)))
    n_right = min(len(right_idx), count - n_wrong)
    rng = np.random.default_rng(seed)
    return (
        np.sort(rng.choice(wrong_idx, n_wrong, replace=False)),
        np.sort(rng.choice(right_idx, n_right, replace=False)),
    )


def describe(shown: int, misclassified: int, total: int, misclassified_shown: int) -> str:
    """The picture's title after the model's name: images shown and how many are misclassified."""
    return f"{shown} test images, {misclassified} misclassified of {total} ({misclassified_shown} shown)"


def _pixels(image: torch.Tensor) -> tuple[np.ndarray, dict[str, Any]]:
    """An (C, H, W) uint8 image as imshow wants it: raw pixels, grey for one channel, RGB for three."""
    if image.shape[0] == 1:
        return image[0].numpy(), {"cmap": "gray", "vmin": 0, "vmax": 255}
    return image.permute(1, 2, 0).numpy(), {}


def _draw_bars(ax, probs: np.ndarray, classes: Sequence[str], label: int, top_k: int) -> None:
    top = np.argsort(-probs, kind="stable")[:top_k]
    rows = np.arange(len(top))
    colors = [TRUE if c == label else WRONG if c == top[0] else OTHER for c in top]
    ax.barh(rows, probs[top], color=colors, height=0.7)
    ax.set_yticks(rows, [classes[c] for c in top], fontsize=8)
    pad = max(0, 5 - len(top)) / 2  # bars as thick with 2 classes as with 5, centred
    ax.set_ylim(len(top) - 0.5 + pad, -0.5 - pad)  # most probable on top
    ax.set_xlim(0, 1.3)  # room for the percentages right of a full bar
    ax.set_xticks([])
    for row, c in zip(rows, top):
        ax.text(probs[c] + 0.03, row, f"{probs[c]:.0%}", va="center", fontsize=7)
    if label not in top:
        ax.set_xlabel(f"true {classes[label]}: {probs[label]:.1%}", fontsize=7, color=TRUE)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)


def draw(
    path: str | Path,
    images: torch.Tensor,
    probs: np.ndarray,
    labels: np.ndarray,
    wrong: np.ndarray,
    classes: Sequence[str],
    title: str,
    top_k: int,
) -> None:
    """The picture: one (image, bars) pair per sample, COLUMNS pairs a row."""
    from matplotlib import style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    classes = [c if len(c) <= NAME else c[: NAME - 1] + "…" for c in classes]
    rows = max(1, -(-len(images) // COLUMNS))
    label_width = max(len(c) for c in classes) * 0.07  # inches for the bar labels
    bars = 0.25 + label_width + 1.6  # inches: gap, class names, bars
    width, height, top = COLUMNS * (1.2 + bars), 1.0 + 1.75 * rows, 0.95  # inches; `top`: the titles' band
    with style.context("default"):  # a user's matplotlibrc does not change the bytes
        fig = Figure(figsize=(width, height), dpi=DPI)
        FigureCanvasAgg(fig)
        grid = fig.add_gridspec(
            rows,
            2 * COLUMNS,
            width_ratios=[1.2, bars] * COLUMNS,
            left=0.02,
            right=0.99,
            bottom=0.03,
            top=1 - top / height,
            wspace=0.1,
            hspace=0.55,
        )
        fig.suptitle(title, y=1 - 0.12 / height, va="top", fontsize=12)
        which = f"top-{top_k} class probabilities" if top_k < len(classes) else "class probabilities"
        fig.text(
            0.5,
            1 - 0.42 / height,
            f"bars: {which}; green: the true class, red: a wrong prediction (its image framed in red)",
            ha="center",
            va="top",
            fontsize=9,
            color="#444444",
        )
        for i, image in enumerate(images):
            row, col = divmod(i, COLUMNS)
            ax_img = fig.add_subplot(grid[row, 2 * col])
            pixels, kw = _pixels(image)
            ax_img.imshow(pixels, interpolation="nearest", **kw)
            ax_img.set_xticks([])
            ax_img.set_yticks([])
            label, pred = int(labels[i]), int(probs[i].argmax())
            if wrong[i]:
                ax_img.set_title(
                    f"predicted {classes[pred]},\ntrue {classes[label]}", fontsize=8, color=WRONG, fontweight="bold"
                )
                for spine in ax_img.spines.values():
                    spine.set(color=WRONG, linewidth=3)
            else:
                ax_img.set_title(f"true {classes[label]}", fontsize=8)
            # Bars inset a little into their cell so their class names keep clear of the image.
            ax_bar = fig.add_subplot(grid[row, 2 * col + 1])
            box = ax_bar.get_position()
            shift = box.width * (0.25 + label_width) / bars
            ax_bar.set_position([box.x0 + shift, box.y0, box.width - shift, box.height])
            _draw_bars(ax_bar, probs[i], classes, label, top_k)
        save_png(fig, path, dpi=DPI)


def plot_predictions(
    model_ts: str | Path,
    metadata: dict[str, Any],
    test: Split,
    out_png: str | Path,
    count: int = 16,
    top_k: int = 5,
    seed: int = 0,
) -> dict[str, int]:
    """Run the exported model on `test` (labels as trained: `as_trained`) and draw `count` of its
    images with their top-`top_k` probabilities into `out_png`. Returns the counts in the title."""
    inputs, classes = test.inputs, list(metadata["classes"])
    if inputs.dtype != torch.uint8 or inputs.ndim != 4 or inputs.shape[1] not in (1, 3):
        raise DataError(
            f"predictions need images (N, 1 or 3, H, W) uint8; the test split holds "
            f"{inputs.dtype} {tuple(inputs.shape)} (is {metadata.get('model')} an image classifier?)"
        )
    labels = test.labels.numpy()
    if len(labels) and not 0 <= labels.min() <= labels.max() < len(classes):
        raise DataError(
            f"test labels run from {labels.min()} to {labels.max()}, but {metadata['model']} has "
            f"{len(classes)} classes; map them as it was trained first (as_trained)"
        )
    probs = class_probabilities(load_torchscript(model_ts), inputs, len(classes)).numpy()
    correct = probs.argmax(1) == labels
    wrong_idx, right_idx = select(correct, count, seed)
    chosen = np.concatenate([wrong_idx, right_idx])  # misclassified first: they are what one looks for
    counts = {
        "shown": len(chosen),
        "misclassified": int((~correct).sum()),
        "total": len(labels),
        "misclassified_shown": len(wrong_idx),
    }
    title = f"{metadata['model']} on {metadata['dataset']}: {describe(**counts)}"
    draw(
        out_png,
        inputs[torch.from_numpy(chosen)],
        probs[chosen],
        labels[chosen],
        ~correct[chosen],
        classes,
        title,
        min(top_k, len(classes)),
    )
    log.info("%s: %s", out_png, title)
    return counts
