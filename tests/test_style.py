"""Style transfer: Gram matrices, the course's layers, and a short real run on small photos."""

from __future__ import annotations

import json

import pytest
import torch

from pipeline.core.errors import ConfigError
from pipeline.core.params import read_yaml
from pipeline.schema.backbones import BackboneParams
from pipeline.schema.style import StyleParams
from pipeline.training.engine.runner import Runner
from pipeline.training.style import VGG19_LAYERS, gram, run_style_transfer, vgg_features
from pipeline.weights.backbone import fetch_backbone
from pipeline.weights.backbone_file import read_backbone, torchvision_weights
from tests.conftest import ROOT, fetch


def test_gram_matrix():
    t = torch.arange(12.0).view(1, 3, 2, 2)
    flat = t.view(3, 4)
    assert torch.equal(gram(t), flat @ flat.t()) and gram(t).shape == (3, 3)


def test_course_layers_are_vgg19_convolutions(tmp_path):
    fetch_backbone("v", BackboneParams(arch="vgg19", weights="random", seed=0), tmp_path / "v.pt")
    vgg = torchvision_weights(read_backbone(tmp_path / "v.pt")).features
    for index in VGG19_LAYERS.values():
        assert isinstance(vgg[index], torch.nn.Conv2d)
    feats = vgg_features(vgg, torch.rand(1, 3, 32, 32), {"conv1_1", "conv4_2"})
    assert feats["conv1_1"].shape == (1, 64, 32, 32) and feats["conv4_2"].shape == (1, 512, 4, 4)
    # the seeded random init is a recipe, not a file
    again = torchvision_weights(read_backbone(tmp_path / "v.pt")).features
    assert torch.equal(again[0].weight, vgg[0].weight)


def test_a_short_run_lowers_the_style_loss_and_writes_everything(tmp_path):
    fetch("sample_photos", tmp_path / "photos")
    fetch_backbone("v", BackboneParams(arch="vgg19", weights="random", seed=0), tmp_path / "v.pt")
    p = StyleParams.model_validate(
        read_yaml(ROOT / "params.yaml")["style"]["style"] | {"size": 40, "steps": 6, "log_every": 1, "device": "cpu"}
    )
    metrics = run_style_transfer(
        "s",
        p,
        tmp_path / "photos",
        tmp_path / "v.pt",
        tmp_path / "out.png",
        tmp_path / "curve.csv",
        tmp_path / "m.json",
        Runner.local("style.s", p.seed),
    )
    rows = (tmp_path / "curve.csv").read_text().splitlines()
    assert rows[0] == "step,content,style,total" and len(rows) == 7
    styles = [float(r.split(",")[2]) for r in rows[1:]]
    assert styles[-1] < styles[0]
    assert metrics["pretrained_vgg"] == 0 and metrics["width"] == 40 and metrics["steps"] == 6
    assert json.loads((tmp_path / "m.json").read_text()) == metrics
    assert (tmp_path / "out.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ConfigError, match="nope.jpg is not in .*; choose one of china.jpg, flower.jpg"):
        run_style_transfer(
            "s",
            p.model_copy(update={"content": "nope.jpg"}),
            tmp_path / "photos",
            tmp_path / "v.pt",
            tmp_path / "o.png",
            tmp_path / "c.csv",
            tmp_path / "m2.json",
            Runner.local("style.s", p.seed),
        )
