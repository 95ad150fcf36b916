"""Hand-made filters (course lesson 5): the Sobel and high-pass kernels the course writes by hand,
applied to real photos, and what max pooling does to their responses.

A kernel slides over the grayscale photo (cross-correlation, as OpenCV's filter2D and PyTorch's
Conv2d compute it; the border reflected so the response keeps the photo's size). Its response is
signed, an edge from dark to light and one from light to dark with opposite signs: the picture
shows its absolute value, the edge strength. Max pooling keeps the largest |response| of each
`pool` x `pool` window: the edges survive at a fraction of the size."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.core.errors import ConfigError, DataError
from pipeline.core.io import write_json
from pipeline.data.facts import read_facts
from pipeline.inspection.figures import pyplot, save_png
from pipeline.schema.filters import FiltersParams

log = logging.getLogger(__name__)

PHOTOS = "photos"  # the dataset kind this stage reads (pipeline.data.sources.PHOTOS)
PANEL = 2.1  # inches per picture
MATRIX_CHARS = 34  # a kernel written on one line fits a picture's width up to this many characters
LINE = 0.14  # inches per line of an 8-point title


def check_kind(dataset: str, facts_path: str | Path) -> None:
    """The facts its download stage wrote say that `dataset` is photos; another kind of dataset is
    an error that names filters.photos."""
    facts = read_facts(facts_path)
    if facts.dataset != dataset:
        raise DataError(
            f"{facts_path} describes dataset {facts.dataset!r}, not {dataset!r}; pass the facts of "
            f"the dataset whose photos you pass (data/sources/{dataset}.json)"
        )
    if facts.kind != PHOTOS:
        raise ConfigError(
            f"filters.photos: {dataset!r} holds {facts.kind} data; the filters stage needs a "
            "dataset of photos (kind photos, like sample_photos or style_images)"
        )


def photo_paths(folder: str | Path, images: Sequence[str], dataset: str) -> list[Path]:
    """Each image's file in the photos folder; one that is not there is an error naming filters.images."""
    folder = Path(folder)
    there = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    missing = [name for name in images if name not in there]
    if missing:
        raise ConfigError(
            f"filters.images: {', '.join(map(repr, missing))} not in the photos dataset {dataset} "
            f"({folder}); it holds: {', '.join(there) or 'nothing'}"
        )
    return [folder / name for name in images]


def load_gray(path: Path, longer_side: int) -> np.ndarray:
    """(H, W) float64 in [0, 1]: the photo in grayscale, its longer side scaled to `longer_side`."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            gray = img.convert("L")
            scale = longer_side / max(gray.size)
            size = (max(1, round(gray.size[0] * scale)), max(1, round(gray.size[1] * scale)))
            return np.asarray(gray.resize(size, Image.BICUBIC), dtype=np.float64) / 255
    except (OSError, UnidentifiedImageError) as err:
        raise DataError(f"{path}: not a readable image ({err}); replace it") from None


def respond(gray: np.ndarray, kernel: Sequence[Sequence[float]]) -> np.ndarray:
    """The kernel's response at every pixel (cross-correlation, reflected border): the same shape."""
    k = np.asarray(kernel, dtype=np.float64)
    r = len(k) // 2
    mode = "reflect" if min(gray.shape) > r else "edge"  # reflect needs more pixels than the radius
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(gray, r, mode=mode), k.shape)
    return np.einsum("ijkl,kl->ij", windows, k)


def max_pool(x: np.ndarray, size: int) -> np.ndarray:
    """`size` x `size` max pooling with stride `size`, as nn.MaxPool2d: a ragged edge is dropped."""
    h, w = x.shape[0] // size, x.shape[1] // size
    if h == 0 or w == 0:
        raise ConfigError(
            f"filters.pool: {size} is larger than the {x.shape[0]}x{x.shape[1]} response; use a "
            "smaller pool or a larger filters.size"
        )
    return x[: h * size, : w * size].reshape(h, size, w, size).max(axis=(1, 3))


def matrix(kernel: Sequence[Sequence[float]]) -> str:
    """A kernel as its picture's title shows it: on one line, rows split by semicolons
    ([-1 0 1; -2 0 2; -1 0 1]), or one row a line if that is too long for the picture's width."""
    rows = [" ".join(f"{v:g}" for v in row) for row in kernel]
    line = "[" + "; ".join(rows) + "]"
    return line if len(line) <= MATRIX_CHARS else "\n".join(rows)


def draw(
    path: str | Path,
    rows: list[tuple[str, np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]],
    p: FiltersParams,
    dataset: str,
) -> None:
    """One row per photo: the grayscale photo, then each kernel's |response| and its max-pooled one."""
    plt = pyplot()
    cols = 1 + 2 * len(p.kernels)
    aspect = max(gray.shape[0] / gray.shape[1] for _, gray, _ in rows)
    shown = {name: matrix(kernel) for name, kernel in p.kernels.items()}
    lines = 2 + max(m.count("\n") + 1 for m in shown.values())  # name, matrix, size
    title_h = LINE * lines + 0.15  # inches above each picture
    picture_h, top = PANEL * aspect, 0.8  # the figure's title and note take `top`
    width, height = cols * PANEL + 0.4, top + (picture_h + title_h) * len(rows) + 0.1
    with plt.style.context("default"):
        fig = plt.figure(figsize=(width, height))
        grid = fig.add_gridspec(
            len(rows),
            cols,
            left=0.2 / width,
            right=1 - 0.2 / width,
            bottom=0.1 / height,
            top=1 - (top + title_h) / height,
            hspace=title_h / picture_h,
            wspace=0.08,
        )
        fig.suptitle(
            f"Hand-made filters on {dataset}: each kernel's |response| and its {p.pool}x{p.pool} max pooling",
            y=1 - 0.1 / height,
            va="top",
            fontsize=12,
        )
        fig.text(
            0.5,
            1 - 0.45 / height,
            "white: strong response (one grey scale per kernel and photo, shared with "
            "its pooled picture); pooling keeps each window's largest value",
            ha="center",
            va="top",
            fontsize=9,
            color="#444444",
        )
        for r, (name, gray, responses) in enumerate(rows):
            ax = fig.add_subplot(grid[r, 0])
            ax.imshow(gray, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(f"{name}, grayscale\n{gray.shape[1]}x{gray.shape[0]} px", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            for i, (kernel, (response, pooled)) in enumerate(responses.items()):
                peak = max(float(response.max()), 1e-12)
                for j, (picture, title) in enumerate(
                    [
                        (response, f"{kernel} |response|\n{shown[kernel]}\n{response.shape[1]}x{response.shape[0]} px"),
                        (
                            pooled,
                            f"{kernel}, {p.pool}x{p.pool} max pool"
                            + "\n" * (shown[kernel].count("\n") + 2)
                            + f"{pooled.shape[1]}x{pooled.shape[0]} px",
                        ),
                    ]
                ):
                    ax = fig.add_subplot(grid[r, 1 + 2 * i + j])
                    ax.imshow(picture, cmap="gray", vmin=0, vmax=peak, interpolation="nearest")
                    ax.set_title(title, fontsize=8)
                    ax.set_xticks([])
                    ax.set_yticks([])
        save_png(fig, path)


def run_filters(
    p: FiltersParams, photos: str | Path, dataset: str, out_png: str | Path, metrics_json: str | Path | None = None
) -> dict:
    """Apply every kernel to every photo, pool the responses, draw them; returns the metrics
    (mean |response| per kernel over the photos, before and after pooling)."""
    paths = photo_paths(photos, p.images, dataset)
    rows, sums = [], {k: [0.0, 0.0] for k in p.kernels}
    for path in paths:
        gray = load_gray(path, p.size)
        responses = {}
        for name, kernel in p.kernels.items():
            response = np.abs(respond(gray, kernel))
            responses[name] = (response, max_pool(response, p.pool))
            sums[name][0] += float(response.mean()) / len(paths)
            sums[name][1] += float(responses[name][1].mean()) / len(paths)
        rows.append((path.name, gray, responses))
        log.info("%s: %dx%d px, %d kernels", path.name, gray.shape[1], gray.shape[0], len(p.kernels))
    draw(out_png, rows, p, dataset)
    r = lambda v: float(f"{v:.6g}")  # noqa: E731
    metrics = {
        "images": len(paths),
        "pool": p.pool,
        "mean_abs_response": {k: r(v[0]) for k, v in sums.items()},
        "mean_abs_pooled": {k: r(v[1]) for k, v in sums.items()},
    }
    if metrics_json is not None:
        write_json(metrics_json, metrics)
    return metrics
