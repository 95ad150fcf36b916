"""Predictions picture: the exported TorchScript model on the real digits test split, drawn as a
valid PNG of a fixed size, the same bytes on a rerun; the seeded choice of images includes the
misclassified ones and the title counts them; binary one-score and RGB models work; the stage
maps labels the way the model was trained."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from pipeline.core.errors import DataError, PipelineError
from pipeline.core.io import read_json, write_json
from pipeline.core.store import Split, load_split
from pipeline.deployment.export import export_classifier
from pipeline.inspection.predictions import (
    WRONG,
    as_trained,
    class_probabilities,
    describe,
    load_torchscript,
    plot_predictions,
    select,
)
from tests.conftest import png
from tests.helpers.stages import stage_ok


def save_scripted(module: nn.Module, path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(module.eval()), str(path))


def red_pixels(path) -> int:
    """Pixels of the misclassified marking's colour (frames, titles, bars)."""
    rgb = np.asarray(png(path).convert("RGB")).reshape(-1, 3)
    red = tuple(int(WRONG[i : i + 2], 16) for i in (1, 3, 5))
    return int((rgb == red).all(1).sum())


class Swapped(nn.Module):
    """A model whose logits of classes a and b are swapped: every a it knew is now called b."""

    def __init__(self, base: nn.Module, a: int, b: int) -> None:
        super().__init__()
        self.base, self.a, self.b = base, a, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x).clone()
        out[:, self.a], out[:, self.b] = self.base(x)[:, self.b], self.base(x)[:, self.a]
        return out


class Brightness(nn.Module):
    """One score per image (binary): > 0 for bright images."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.mean((1, 2, 3)) - 0.3) * 20


@pytest.fixture
def exported(digits_store, trained_mlp, tmp_path):
    folder = tmp_path / "export"
    export_classifier(trained_mlp, load_split(digits_store["test"]).inputs, folder, 1e-5, 128)
    return folder, read_json(folder / "metadata.json"), load_split(digits_store["test"])


def test_picture_is_a_png_of_fixed_size_and_the_same_bytes_on_a_rerun(exported, tmp_path):
    folder, meta, test = exported
    first, second = tmp_path / "a" / "predictions.png", tmp_path / "b" / "predictions.png"
    counts = plot_predictions(folder / "model.ts", meta, test, first)
    plot_predictions(folder / "model.ts", meta, test, second)
    image = png(first)
    assert image.size == (1248, 800) and image.mode == "RGBA"  # 4 x 4 pairs at 100 dpi
    assert first.read_bytes() == second.read_bytes()
    assert not list(first.parent.glob("*.tmp"))
    assert counts["shown"] == 16 and counts["total"] == len(test) == 359
    # One row for four images: the height follows the grid.
    plot_predictions(folder / "model.ts", meta, test, tmp_path / "four.png", count=4)
    assert png(tmp_path / "four.png").size == (1248, 275)


def test_misclassified_images_are_chosen_counted_and_marked(exported, tmp_path):
    folder, meta, test = exported
    base = load_torchscript(folder / "model.ts")
    save_scripted(Swapped(base, 3, 8), tmp_path / "swapped.ts")
    with torch.no_grad():
        logits = base(test.inputs.float() / 255)
    logits[:, [3, 8]] = logits[:, [8, 3]]
    wrong = int((logits.argmax(1) != test.labels).sum())
    assert wrong > 20  # every 3 and 8 it knew is now wrong

    counts = plot_predictions(tmp_path / "swapped.ts", meta, test, tmp_path / "swapped.png")
    assert counts == {"shown": 16, "misclassified": wrong, "total": 359, "misclassified_shown": 4}
    # The same images, labelled as this model predicts them: nothing is misclassified, nothing red.
    agreed = Split(test.inputs, logits.argmax(1))
    assert plot_predictions(tmp_path / "swapped.ts", meta, agreed, tmp_path / "agreed.png")["misclassified"] == 0
    assert red_pixels(tmp_path / "agreed.png") == 0 < 4 * 400 < red_pixels(tmp_path / "swapped.png")


def test_selection_is_seeded_and_a_quarter_misclassified():
    correct = np.ones(359, dtype=bool)
    correct[[5, 40, 41, 100, 200, 300]] = False
    wrong, right = select(correct, 16, seed=0)
    assert len(wrong) == 4 and not correct[wrong].any() and len(right) == 12 and correct[right].all()
    assert list(wrong) == sorted(wrong) and len(set(right)) == 12
    assert all(np.array_equal(a, b) for a, b in zip(select(correct, 16, 0), (wrong, right)))
    assert any(not np.array_equal(a, b) for a, b in zip(select(correct, 16, 1), (wrong, right)))
    assert describe(16, 6, 359, 4) == "16 test images, 6 misclassified of 359 (4 shown)"


@pytest.mark.parametrize(
    ("n_wrong", "n_right", "count", "expect"),
    [
        (0, 100, 16, (0, 16)),  # no mistakes: all correct
        (2, 100, 16, (2, 14)),  # fewer mistakes than a quarter: all of them
        (50, 5, 16, (11, 5)),  # too few correct: mistakes fill the grid
        (3, 4, 16, (3, 4)),  # a split smaller than the grid: every sample
    ],
)
def test_selection_counts(n_wrong, n_right, count, expect):
    correct = np.array([False] * n_wrong + [True] * n_right)
    wrong, right = select(correct, count, seed=0)
    assert (len(wrong), len(right)) == expect


def test_binary_model_with_one_score(tmp_path, digits_store):
    save_scripted(Brightness(), tmp_path / "model.ts")
    test = load_split(digits_store["test"])
    test = Split(test.inputs[:40], test.labels[:40] % 2)
    meta = {"model": "brightness", "dataset": "digits", "classes": ["dark image", "bright image"]}
    probs = class_probabilities(load_torchscript(tmp_path / "model.ts"), test.inputs, 2)
    expected = torch.sigmoid((test.inputs.double().mean((1, 2, 3)) / 255 - 0.3) * 20)
    assert probs.shape == (40, 2) and torch.allclose(probs[:, 1], expected, atol=1e-5)
    assert torch.allclose(probs.sum(1), torch.ones(40, dtype=torch.float64))
    counts = plot_predictions(tmp_path / "model.ts", meta, test, tmp_path / "binary.png", count=8)
    assert counts["shown"] == 8 and png(tmp_path / "binary.png").size[1] == 450


def test_rgb_images(tmp_path):
    gen = torch.Generator().manual_seed(0)
    inputs = torch.randint(0, 256, (30, 3, 16, 16), dtype=torch.uint8, generator=gen)
    linear = nn.Linear(3 * 16 * 16, 4)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(4, 3 * 16 * 16, generator=gen) / 100)
        linear.bias.zero_()
    save_scripted(nn.Sequential(nn.Flatten(), linear), tmp_path / "model.ts")
    classes = ["T-shirt/top", "Ankle boot", "Sandal", "a bag with a very long name"]  # the last one is cut
    meta = {"model": "rgb", "dataset": "random", "classes": classes}
    counts = plot_predictions(
        tmp_path / "model.ts", meta, Split(inputs, torch.arange(30) % 4), tmp_path / "rgb.png", count=12, top_k=3
    )
    assert counts["shown"] == 12 and counts["misclassified_shown"] >= 3
    assert png(tmp_path / "rgb.png").size[1] == 625


def test_what_is_not_an_image_classifier_is_an_error(tmp_path):
    save_scripted(nn.Sequential(nn.Flatten(), nn.Linear(64, 3)), tmp_path / "model.ts")
    meta = {"model": "m", "dataset": "d", "classes": ["a", "b"]}
    images = Split(torch.zeros(5, 1, 8, 8, dtype=torch.uint8), torch.zeros(5, dtype=torch.int64))
    with pytest.raises(PipelineError, match=r"outputs of shape \(5, 3\).*expected \(5, 2\) logits"):
        plot_predictions(tmp_path / "model.ts", meta, images, tmp_path / "x.png")
    with pytest.raises(DataError, match="labels run from 3 to 7, but m has 2 classes; map them"):
        plot_predictions(tmp_path / "model.ts", meta, Split(images.inputs, torch.arange(5) + 3), tmp_path / "x.png")
    with pytest.raises(DataError, match="need images"):
        plot_predictions(tmp_path / "model.ts", meta, Split(torch.zeros(5, 30), images.labels), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_labels_are_mapped_as_trained():
    test = Split(torch.zeros(4, 1, 2, 2, dtype=torch.uint8), torch.tensor([0, 1, 2, 3]))
    meta = {"classes": ["even", "odd"], "trained": {"label_map": {"0": "even", "1": "odd", "2": "even", "3": "odd"}}}
    assert as_trained(test, meta, ["0", "1", "2", "3"], "m.json").labels.tolist() == [0, 1, 0, 1]
    assert as_trained(test, {"classes": list("0123")}, list("0123"), "m.json").labels.tolist() == [0, 1, 2, 3]
    with pytest.raises(DataError, match=r"m.json: the model's classes \['a', 'b'\]"):
        as_trained(test, {"classes": ["a", "b"]}, list("0123"), "m.json")


@pytest.mark.slow
def test_stage_maps_labels_and_writes_the_picture(exported, digits_store, tmp_path):
    folder, meta, _ = exported
    # The exported MLP relabelled as an even/odd model (its logits summed per parity), as a
    # transfer model's metadata says it.
    save_scripted(Parity(load_torchscript(folder / "model.ts")), folder / "model.ts")
    meta = meta | {
        "classes": ["even", "odd"],
        "trained": meta["trained"] | {"label_map": {str(d): ["even", "odd"][d % 2] for d in range(10)}},
    }
    write_json(folder / "metadata.json", meta)
    out = tmp_path / "reports" / "predictions.png"
    proc = stage_ok(
        "predictions",
        "mlp",
        "--export",
        folder,
        "--test",
        digits_store["test"],
        "--stats",
        digits_store["stats"],
        "--out",
        out,
    )
    assert "mlp on digits: 16 test images" in proc.stderr and png(out).size == (1332, 800)  # wider: longer class names


class Parity(nn.Module):
    def __init__(self, base: nn.Module) -> None:
        super().__init__()
        self.base = base

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = torch.softmax(self.base(x), 1)
        return torch.stack([p[:, 0::2].sum(1), p[:, 1::2].sum(1)], 1).log()
