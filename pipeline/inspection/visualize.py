"""A look inside a trained image classifier (course lesson 5): its first layer's filters, and the
feature maps that one test image of each class leaves at every convolution, activation and pooling
layer, caught with forward hooks.

A CNN's first layer is a bank of small kernels; an MLP's first layer is Linear, and each row of its
weight matrix, reshaped to the image, is the "filter" that hidden unit matches. An MLP has no
feature maps: its hidden activations are drawn as small grids of units instead. A transfer model
is looked at through its backbone (`body.features`), whose layers are the ones that see pixels.

Both pictures are the same bytes on every rerun (pipeline.inspection.figures); nothing here reads params."""

from __future__ import annotations

import logging
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from pipeline.core.errors import DataError
from pipeline.core.store import Split, relabel
from pipeline.inspection.figures import pyplot, save_png
from pipeline.weights.checkpoint import load_checkpoint

log = logging.getLogger(__name__)

# The layers whose outputs are drawn: what the course calls convolution, activation and pooling.
TRACED = (
    nn.Conv2d,
    nn.ReLU,
    nn.ReLU6,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Hardswish,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
)
FIRST = (nn.Conv2d, nn.Linear)  # a first layer whose weights can be drawn as filters
MAX_CHANNELS = 8  # feature-map channels shown per layer and image
MAX_UNITS = 1024  # hidden units shown per layer (as a grid)
MAX_FILTERS = 64  # first-layer filters shown
MAX_IMAGES = 10  # test images (classes) shown
MAX_LAYERS = 30  # rows of a very deep backbone (torchvision); the title says how many are left out
TILE_COLUMNS = 4  # channels per row of a layer's mosaic
TILE_PIXELS = 16  # a smaller map is blown up to about this many pixels a side
FILTER_COLUMNS = 8
NAME = 16  # characters of a class name shown above its column
SIGNED, UNSIGNED, LINE = "RdBu_r", "magma", "#444444"


@dataclass(frozen=True)
class Traced:
    """One row of the feature-map picture: a layer's name, type and its output for the images."""

    name: str
    kind: str
    output: torch.Tensor  # (images, C, H, W) or (images, units)


def looked_at(model: nn.Module) -> tuple[str, nn.Module]:
    """The part of an ImageClassifier that sees pixels, with its path in the model: its body, or a
    transfer model's backbone (TransferBody keeps it as `features`)."""
    body = model.body
    return ("body.features", body.features) if hasattr(body, "features") else ("body", body)


def layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every module of the part looked at, in registration (for these models: forward) order,
    named by its path in the model (`body.0`, `body.features.3`)."""
    prefix, root = looked_at(model)
    return [(f"{prefix}.{name}" if name else prefix, module) for name, module in root.named_modules()]


def traced_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every convolution, activation and pooling layer of the part looked at, in forward order."""
    return [(name, module) for name, module in layers(model) if isinstance(module, TRACED)]


@torch.no_grad()
def feature_maps(model: nn.Module, images: torch.Tensor) -> list[Traced]:
    """The model run once on uint8 `images`, every traced layer's output caught by a forward hook."""
    caught: list[Traced] = []

    def hook(name: str):
        # A copy: an in-place activation (torchvision's ReLU(inplace=True)) would overwrite the output.
        return lambda module, inputs, output: caught.append(
            Traced(name, type(module).__name__, output.detach().float().clone())
        )

    handles = [module.register_forward_hook(hook(name)) for name, module in traced_layers(model)]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same sums in the same order on any machine: the same bytes
    try:
        model.eval()(images.float() / 255)
    finally:
        torch.set_num_threads(threads)
        for handle in handles:
            handle.remove()
    return caught


def first_layer(model: nn.Module) -> tuple[str, nn.Module]:
    """The first Conv2d or Linear layer of the part looked at: the one whose weights meet the pixels."""
    found = next(((name, m) for name, m in layers(model) if isinstance(m, FIRST)), None)
    if found is None:
        raise DataError(
            f"{type(looked_at(model)[1]).__name__} has no Conv2d or Linear layer whose weights could be drawn"
        )
    return found


def one_per_class(test: Split, n_classes: int) -> tuple[list[int], list[int]]:
    """(indices, classes): the first test image of each class that has one, classes in order."""
    labels = test.labels.tolist()
    found = {}
    for i, label in enumerate(labels):
        found.setdefault(label, i)
        if len(found) == n_classes:
            break
    classes = sorted(found)[:MAX_IMAGES]
    return [found[c] for c in classes], classes


def as_trained(test: Split, ckpt: dict[str, Any], dataset_classes: Sequence[str], where: str) -> Split:
    """The test split labelled as the model was trained (its label_map, if any)."""
    split, classes = relabel(test, list(dataset_classes), ckpt.get("label_map"), f"{where}: label_map")
    if classes != list(ckpt["spec"]["classes"]):
        raise DataError(
            f"{where}: the model's classes {ckpt['spec']['classes']} are not the test split's {classes}; "
            "pass the test split and stats.json of the dataset it was trained on"
        )
    return split


# --- pictures ------------------------------------------------------------------------------------


def _grid_shape(n: int, columns: int) -> tuple[int, int]:
    return -(-n // columns), min(n, columns)


def mosaic(maps: np.ndarray, columns: int = TILE_COLUMNS) -> np.ndarray:
    """(C, H, W) maps as one picture, C tiles in rows of `columns`, one NaN pixel between them.
    Small maps are blown up (each value a square of pixels) so that the gaps stay thin beside them."""
    scale = max(1, -(-TILE_PIXELS // max(maps.shape[1:])))
    maps = maps.repeat(scale, axis=1).repeat(scale, axis=2)
    c, h, w = maps.shape
    rows, cols = _grid_shape(c, columns)
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for i, m in enumerate(maps):
        r, q = divmod(i, cols)
        out[r * (h + 1) : r * (h + 1) + h, q * (w + 1) : q * (w + 1) + w] = m
    return out


def unit_grid(units: np.ndarray) -> np.ndarray:
    """A vector of hidden units as a near-square grid (NaN where the last row runs short)."""
    n = len(units)
    # An exact rectangle if one is not too long (512 -> 16 x 32), else a near square.
    cols = next(
        (c for c in range(math.ceil(math.sqrt(n)), 2 * math.ceil(math.sqrt(n)) + 1) if n % c == 0),
        math.ceil(math.sqrt(n)),
    )
    out = np.full(-(-n // cols) * cols, np.nan)
    out[:n] = units
    return out.reshape(-1, cols)


def _scaled(output: np.ndarray, per_channel: bool) -> np.ndarray:
    """Values over the largest |value| (per channel of a feature map, over all images shown)."""
    axes = (0, 2, 3) if per_channel else None
    peak = np.abs(output).max(axis=axes, keepdims=per_channel)
    return output / np.where(peak > 0, peak, 1)


def _row(traced: Traced) -> tuple[list[np.ndarray], str, bool]:
    """One layer's pictures (one per image), its label and whether its values are signed."""
    out = traced.output.numpy()
    signed = bool(out.min() < 0)
    if out.ndim == 4:
        n = out.shape[1]
        shown = _scaled(out[:, :MAX_CHANNELS], per_channel=True)
        label = f"{traced.name}\n{traced.kind} {n} x {out.shape[2]} x {out.shape[3]}"
        label += f"\nfirst {MAX_CHANNELS} of {n} channels" if n > MAX_CHANNELS else f"\n{n} channel{'s' * (n > 1)}"
        return [mosaic(m) for m in shown], label, signed
    flat = out.reshape(len(out), -1)
    n = flat.shape[1]
    shown = _scaled(flat[:, :MAX_UNITS], per_channel=False)
    label = f"{traced.name}\n{traced.kind}, {n} units"
    label += f", first {MAX_UNITS}" if n > MAX_UNITS else ""
    grids = [unit_grid(u) for u in shown]
    return grids, label + f"\nas a {grids[0].shape[0]} x {grids[0].shape[1]} grid", signed


def _blank(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _pixels(image: torch.Tensor) -> tuple[np.ndarray, dict[str, Any]]:
    if image.shape[0] == 1:
        return image[0].numpy(), {"cmap": "gray", "vmin": 0, "vmax": 255}
    return image[:3].permute(1, 2, 0).numpy(), {}


def draw_feature_maps(
    path: str | Path, images: torch.Tensor, names: Sequence[str], traced: Sequence[Traced], title: str, kind_note: str
) -> None:
    """Rows: the input, then each traced layer; columns: the images. Each cell is that layer's
    output for that image: a mosaic of its first channels, or a grid of its units."""
    plt = pyplot()
    rows = [(list(images), "input\n" + " x ".join(map(str, images.shape[1:])), None)]
    rows += [_row(t) for t in traced[:MAX_LAYERS]]
    longest = max(len(line) for row in rows for line in row[1].splitlines())
    col_w, label_w = 1.25, max(1.6, 0.3 + 0.058 * longest)  # inches; 7-point labels take about 0.058 a character
    heights = [
        min(1.3, max(0.5, col_w * row[0][0].shape[0] / row[0][0].shape[1] + 0.1)) if row[2] is not None else col_w
        for row in rows
    ]
    width = max(8.0, label_w + col_w * len(images) + 0.3)  # a model with two classes still fits its titles
    title, kind_note = textwrap.fill(title, int(width * 9)), textwrap.fill(kind_note, int(width * 17))
    lines = title.count("\n") + kind_note.count("\n")
    top, bottom = 0.95 + 0.18 * lines, 0.15
    height = top + sum(heights) * 1.12 + bottom
    with plt.style.context("default"):
        fig = plt.figure(figsize=(width, height))
        grid = fig.add_gridspec(
            len(rows),
            len(images),
            left=label_w / width,
            right=(label_w + col_w * len(images)) / width,
            bottom=bottom / height,
            top=1 - top / height,
            height_ratios=heights,
            hspace=0.12,
            wspace=0.08,
        )
        fig.suptitle(title, y=1 - 0.1 / height, va="top", fontsize=11)
        fig.text(
            0.5,
            1 - (0.45 + 0.18 * title.count("\n")) / height,
            kind_note,
            ha="center",
            va="top",
            fontsize=8,
            color=LINE,
        )
        for r, (pictures, label, signed) in enumerate(rows):
            for c, picture in enumerate(pictures):
                ax = fig.add_subplot(grid[r, c])
                if signed is None:
                    pixels, kw = _pixels(picture)
                    ax.imshow(pixels, interpolation="nearest", **kw)
                    ax.set_title(names[c], fontsize=8)
                else:
                    cmap = plt.get_cmap(SIGNED if signed else UNSIGNED).with_extremes(bad="white")
                    ax.imshow(picture, cmap=cmap, vmin=-1 if signed else 0, vmax=1, interpolation="nearest")
                _blank(ax)
                if c == 0:
                    ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7, labelpad=6)
        save_png(fig, path)


def filter_tiles(weight: torch.Tensor, input_shape: Sequence[int]) -> tuple[list[np.ndarray], list[str], bool]:
    """First-layer weights as pictures: RGB tiles for 3 input channels (grey 0.5 = weight 0), one
    tile per input channel otherwise. A Linear layer's rows are reshaped to the input image.
    Returns the tiles (scaled to [-1, 1], or [0, 1] RGB), their titles and whether they are RGB."""
    w = weight.detach().float()
    if w.ndim == 2:  # Linear: one row per hidden unit, over the flattened image
        w = w.view(len(w), *input_shape)
    w = w[:MAX_FILTERS].numpy() / max(float(w.abs().max()), 1e-12)  # one scale: the whole layer's largest |weight|
    if w.shape[1] == 3:
        return [np.clip(f.transpose(1, 2, 0) / 2 + 0.5, 0, 1) for f in w], [f"{i}" for i in range(len(w))], True
    if w.shape[1] == 1:
        return [f[0] for f in w], [f"{i}" for i in range(len(w))], False
    tiles = [(f"{i}.{c}", f[c]) for i, f in enumerate(w) for c in range(len(f))][:MAX_FILTERS]
    return [t for _, t in tiles], [n for n, _ in tiles], False


def draw_filters(
    path: str | Path, tiles: Sequence[np.ndarray], names: Sequence[str], rgb: bool, title: str, note: str, peak: float
) -> None:
    """A grid of first-layer filters; `peak` is the largest |weight|, the ends of the colour scale."""
    plt = pyplot()
    rows, cols = _grid_shape(len(tiles), FILTER_COLUMNS)
    cell = 0.95
    lines = title.count("\n")  # a long title takes two lines
    top, bottom = 1.0 + 0.2 * lines, 0.5 if not rgb else 0.15
    width, height = max(6.5, cols * cell + 0.6), top + rows * (cell + 0.15) + bottom
    with plt.style.context("default"):
        fig = plt.figure(figsize=(width, height))
        grid = fig.add_gridspec(
            rows,
            cols,
            left=0.3 / width,
            right=1 - 0.3 / width,
            bottom=bottom / height,
            top=1 - top / height,
            hspace=0.3,
            wspace=0.1,
        )
        fig.suptitle(title, y=1 - 0.1 / height, va="top", fontsize=11)
        fig.text(0.5, 1 - (0.5 + 0.2 * lines) / height, note, ha="center", va="top", fontsize=8, color=LINE)
        image = None
        for i, (tile, name) in enumerate(zip(tiles, names)):
            ax = fig.add_subplot(grid[divmod(i, cols)])
            image = ax.imshow(tile, interpolation="nearest", **({} if rgb else {"cmap": SIGNED, "vmin": -1, "vmax": 1}))
            ax.set_title(name, fontsize=7, pad=2)
            _blank(ax)
        if not rgb and image is not None:
            bar = fig.add_axes([0.3, 0.2 / height, 0.4, 0.12 / height])
            fig.colorbar(image, cax=bar, orientation="horizontal", ticks=[-1, 0, 1])
            bar.set_xticklabels([f"{-peak:.3g}", "0", f"{peak:.3g}"], fontsize=7)
        save_png(fig, path)


def visualize(
    checkpoint: str | Path, test: Split, dataset_classes: Sequence[str], filters_png: str | Path, maps_png: str | Path
) -> dict[str, Any]:
    """Draw the first layer's filters and the feature maps of one test image per class. Returns
    what was drawn: the traced layer names, the first layer's name, the images' indices."""
    model, ckpt = load_checkpoint(checkpoint)
    if test.inputs.dtype != torch.uint8 or test.inputs.ndim != 4:
        raise DataError(
            f"visualize needs images (N, C, H, W) uint8; the test split holds {test.inputs.dtype} "
            f"{tuple(test.inputs.shape)} (is {ckpt['model']} an image classifier?)"
        )
    test = as_trained(test, ckpt, dataset_classes, str(checkpoint))
    classes = list(ckpt["spec"]["classes"])
    name, dataset = ckpt["model"], ckpt.get("dataset", "its dataset")

    layer_name, layer = first_layer(model)
    tiles, tile_names, rgb = filter_tiles(layer.weight, ckpt["spec"]["input_shape"])
    total = layer.out_channels if isinstance(layer, nn.Conv2d) else layer.out_features
    shown = f"first {len(tiles)} of {total}" if len(tiles) < total else f"all {total}"
    if isinstance(layer, nn.Conv2d):
        k = "x".join(map(str, layer.kernel_size))
        title = f"{name}: the first layer's filters ({layer_name}, Conv2d {layer.in_channels} -> {total}, {k} kernels)"
    else:
        shape = "x".join(map(str, ckpt["spec"]["input_shape"][1:]))
        title = (
            f"{name}: the MLP's \"filters\": rows of the first Linear layer's weights\n({layer_name}, "
            f"{layer.in_features} -> {total}), each reshaped to the {shape} image"
        )
    what = "RGB: each kernel's three input channels, grey = 0" if rgb else "blue: negative, red: positive weight"
    peak = float(layer.weight.detach().abs().max())
    draw_filters(
        filters_png,
        tiles,
        tile_names,
        rgb,
        title,
        f"{shown} shown; {what}; one scale for all, largest |weight| = {peak:.3g}",
        peak,
    )

    indices, shown_classes = one_per_class(test, len(classes))
    images = test.inputs[torch.tensor(indices, dtype=torch.int64)]
    traced = feature_maps(model, images)
    convolutional = any(isinstance(m, nn.Conv2d) for _, m in traced_layers(model))
    left_out = f"; the first {MAX_LAYERS} of {len(traced)} layers" if len(traced) > MAX_LAYERS else ""
    if len(indices) < len(classes):  # more classes than columns, or classes the test split lacks
        left_out += f"; {len(indices)} of {len(classes)} classes shown"
    if convolutional:
        note = (
            f"rows: the input, then the output of each convolution, activation and pooling layer (forward "
            f"hooks){left_out}; each channel scaled to its largest |value| over these images (a fully "
            "connected layer's units: a grid, one scale); magma for values >= 0, blue/red for negative/positive"
        )
    else:
        note = (
            f"an MLP has no feature maps: rows are the input, then each hidden activation layer's units as a "
            f"grid (forward hooks){left_out}; scaled to the layer's largest |value|, magma for values >= 0, "
            "blue/red for negative/positive"
        )
    names = [(c if len(c) <= NAME else c[: NAME - 1] + "…") for c in (classes[k] for k in shown_classes)]
    draw_feature_maps(
        maps_png,
        images,
        [f"{c} (#{i})" for c, i in zip(names, indices)],
        traced,
        f"{name} on {dataset}: what the first test image of each class leaves at each layer",
        note,
    )
    log.info(
        "%s: %d filters of %s; %d layers traced for %d images", name, len(tiles), layer_name, len(traced), len(images)
    )
    return {"layers": [t.name for t in traced], "first_layer": layer_name, "images": indices, "filters": len(tiles)}
