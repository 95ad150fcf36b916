"""A look inside a trained classifier (stage visualize@<model>): the first layer's filters and the
feature maps of one test image per class, on a tiny CNN and the small MLP trained on the real
digits. The pictures are valid PNGs of a sensible size and the same bytes on a rerun; the rows
are what forward hooks caught at every convolution, activation and pooling layer; a transfer
model is looked at through its backbone, with its labels mapped as it was trained."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pipeline.core.errors import DataError
from pipeline.core.params import arch_schema
from pipeline.core.store import Split, load_split, read_info
from pipeline.inspection.visualize import (
    MAX_CHANNELS,
    feature_maps,
    mosaic,
    traced_layers,
    unit_grid,
    visualize,
)
from pipeline.models import build_model
from pipeline.weights.checkpoint import load_checkpoint, save_checkpoint
from tests.conftest import png, small_train_params, train_image
from tests.helpers.stages import run_stage

CHANNELS = [4, 8]


@pytest.fixture(scope="module")
def tiny_cnn(digits_store):
    """A CNN (conv 4-8, FC 16) trained for one epoch on the real digits: a few seconds."""
    from pipeline.data.augment import Policy

    out = digits_store["root"] / "visualize_cnn"
    p = small_train_params("cnn", channels=CHANNELS, fc=16, epochs=1, batch_size=64)
    train_image("cnn", p, digits_store, Policy(0.0, 0.0, (1.0, 1.0), 0.0, 0), out)
    return out / "model.pt"


def visualize_stage(checkpoint, store, out, *extra):
    return run_stage(
        "visualize",
        "cnn",
        "--checkpoint",
        checkpoint,
        "--test",
        store["test"],
        "--stats",
        store["stats"],
        "--filters",
        out / "filters.png",
        "--feature-maps",
        out / "feature_maps.png",
        *extra,
    )


@pytest.mark.slow
def test_stage_writes_both_pictures_the_same_bytes_on_a_rerun(tiny_cnn, digits_store, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        proc = visualize_stage(tiny_cnn, digits_store, out)
        assert proc.returncode == 0, proc.stderr
    assert "7 layers traced for 10 images" in proc.stderr
    for name in ("filters.png", "feature_maps.png"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    filters, maps = png(first / "filters.png"), png(first / "feature_maps.png")
    # 4 filters in one row; 10 images wide and 8 rows (input + 7 layers) high.
    assert 600 <= filters.size[0] <= 900 and 200 <= filters.size[1] <= 400, filters.size
    assert 1300 <= maps.size[0] <= 1600 and 700 <= maps.size[1] <= 1200, maps.size
    assert not list(first.glob("*.tmp"))


def test_rows_are_every_conv_activation_and_pooling_layer_caught_by_hooks(tiny_cnn, digits_store, tmp_path):
    model, _ = load_checkpoint(tiny_cnn)
    layers = traced_layers(model)
    kinds = [type(m) for m in model.body if isinstance(m, (nn.Conv2d, nn.ReLU, nn.MaxPool2d))]
    assert [type(m) for _, m in layers] == kinds and len(kinds) == 7  # 2 x (conv, relu, pool) + the FC's relu
    assert [name for name, _ in layers] == ["body.0", "body.1", "body.2", "body.3", "body.4", "body.5", "body.9"]

    images = load_split(digits_store["test"]).inputs[:3]
    traced = feature_maps(model, images)
    assert [t.name for t in traced] == [name for name, _ in layers]
    assert [tuple(t.output.shape) for t in traced] == [
        (3, 4, 8, 8),
        (3, 4, 8, 8),
        (3, 4, 4, 4),
        (3, 8, 4, 4),
        (3, 8, 4, 4),
        (3, 8, 2, 2),
        (3, 16),
    ]
    with torch.no_grad():  # the hooks caught the real intermediate outputs
        x = (images.float() / 255 - model.mean) / model.std
        assert torch.allclose(traced[0].output, model.body[0](x))
        assert torch.allclose(traced[2].output, model.body[2](model.body[1](model.body[0](x))))
    assert not any(m._forward_hooks for _, m in layers)  # removed afterwards

    drawn = visualize(
        tiny_cnn,
        load_split(digits_store["test"]),
        read_info(digits_store["stats"]).classes,
        tmp_path / "f.png",
        tmp_path / "m.png",
    )
    assert drawn["layers"] == [name for name, _ in layers] and drawn["first_layer"] == "body.0"
    assert drawn["filters"] == CHANNELS[0]
    # One image per class: the first of each, in class order.
    labels = load_split(digits_store["test"]).labels
    assert [int(labels[i]) for i in drawn["images"]] == list(range(10))
    assert all(int(labels[:i].eq(labels[i]).sum()) == 0 for i in drawn["images"])


def test_an_mlp_shows_its_weight_rows_and_hidden_activations(trained_mlp, digits_store, tmp_path):
    drawn = visualize(
        trained_mlp,
        load_split(digits_store["test"]),
        read_info(digits_store["stats"]).classes,
        tmp_path / "filters.png",
        tmp_path / "maps.png",
    )
    assert drawn["first_layer"] == "body.1" and drawn["layers"] == ["body.2"]  # Linear 64 -> 64, one ReLU
    assert drawn["filters"] == 64  # every hidden unit's weight row, as an 8x8 picture
    assert png(tmp_path / "filters.png").size[1] > png(tmp_path / "maps.png").size[1] / 2


def test_a_transfer_model_is_seen_through_its_backbone_with_its_labels_mapped(tiny_cnn, digits_store, tmp_path):
    _, cnn = load_checkpoint(tiny_cnn)
    label_map = {str(d): ["even", "odd"][d % 2] for d in range(10)}
    params = arch_schema("transfer", "arch").model_validate(
        {
            "arch": "transfer",
            "dataset": "digits",
            "backbone": "cnn",
            "label_map": label_map,
            "freeze": True,
            "head": [8],
            "dropout": 0.2,
            "optimizer": "adam",
            "lr": 0.003,
            "momentum": 0.0,
            "weight_decay": 0.0,
            "batch_size": 64,
            "epochs": 1,
            "patience": 1,
            "seed": 0,
            "device": "cpu",
        }
    )
    spec = cnn["spec"] | {
        "classes": ["even", "odd"],
        "backbone": {"source": "pipeline", "model": "cnn", "arch": "cnn", "params": cnn["params"], "spec": cnn["spec"]},
    }
    model = build_model("transfer", params, spec)
    save_checkpoint(
        tmp_path / "transfer.pt",
        model=model,
        optimizer=None,
        epoch=0,
        metrics={},
        meta={
            "model": "transfer",
            "arch": "transfer",
            "params": params.model_dump(),
            "spec": spec,
            "dataset": "digits",
            "label_map": label_map,
        },
    )
    test = load_split(digits_store["test"])
    drawn = visualize(
        tmp_path / "transfer.pt", test, read_info(digits_store["stats"]).classes, tmp_path / "f.png", tmp_path / "m.png"
    )
    assert drawn["first_layer"] == "body.features.0"
    assert drawn["layers"] == [f"body.features.{i}" for i in (0, 1, 2, 3, 4, 5, 9)]  # not the new head's ReLU
    assert [int(test.labels[i]) % 2 for i in drawn["images"]] == [0, 1]  # the first even, the first odd digit

    with pytest.raises(DataError, match=r"the model's classes \['0', '1', '2'.*are not the test split's \['0', '1'\]"):
        visualize(tiny_cnn, Split(test.inputs, test.labels % 2), ["0", "1"], tmp_path / "x.png", tmp_path / "y.png")
    assert not (tmp_path / "x.png").exists()


def test_rgb_filters_and_a_class_without_test_images(tmp_path):
    """An untrained CIFAR-shaped CNN: RGB kernels, RGB inputs; a class absent from the test split
    is skipped, a long class name is cut."""
    params = small_train_params("cnn", channels=[16, 32, 64], fc=20)
    spec = {
        "input_shape": [3, 32, 32],
        "classes": ["cat", "dog", "a bird with a very long name", "frog"],
        "mean": [0.5] * 3,
        "std": [0.25] * 3,
    }
    save_checkpoint(
        tmp_path / "rgb.pt",
        model=build_model("cnn", params, spec),
        optimizer=None,
        epoch=0,
        metrics={},
        meta={
            "model": "rgb",
            "arch": "cnn",
            "params": params.model_dump(),
            "spec": spec,
            "dataset": "random",
            "label_map": None,
        },
    )
    gen = torch.Generator().manual_seed(0)
    test = Split(torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8, generator=gen), torch.arange(12) % 3)
    drawn = visualize(tmp_path / "rgb.pt", test, spec["classes"], tmp_path / "f.png", tmp_path / "m.png")
    assert drawn["filters"] == 16 and drawn["images"] == [0, 1, 2] and len(drawn["layers"]) == 10
    assert png(tmp_path / "f.png").size[0] >= 650 and png(tmp_path / "m.png").size[0] >= 800


def test_mosaics_cap_the_channels_and_grids_hold_every_unit():
    maps = torch.arange(64 * 4, dtype=torch.float64).view(64, 2, 2).numpy()[:MAX_CHANNELS]
    tiled = mosaic(maps)
    assert tiled.shape == (2 * 16 + 1, 4 * 16 + 3)  # 2 x 4 tiles, each 2x2 blown up to 16x16, 1-pixel gaps
    grid = unit_grid(torch.ones(512).numpy())
    assert grid.shape == (16, 32) and grid.sum() == 512
    assert unit_grid(torch.ones(500).numpy()).shape == (20, 25)
    ragged = unit_grid(torch.ones(7).numpy())
    assert ragged.size >= 7 and (ragged == 1).sum() == 7


def test_bad_inputs_exit_2_with_one_line_and_no_picture(tiny_cnn, digits_store, tmp_path):
    proc = visualize_stage(tiny_cnn, {"test": tiny_cnn, "stats": digits_store["stats"]}, tmp_path)
    assert proc.returncode == 2 and "not a split file of the tensor store" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*.png"))
    with pytest.raises(DataError, match="visualize needs images"):
        visualize(
            tiny_cnn,
            Split(torch.zeros(5, 30), torch.zeros(5, dtype=torch.int64)),
            list("0123456789"),
            tmp_path / "f.png",
            tmp_path / "m.png",
        )
    assert not list(tmp_path.glob("*.png"))
