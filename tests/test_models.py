"""Every registered model through a forward pass (shape, no NaN) and one training step, on the
shapes of every image dataset the pipeline knows."""

from __future__ import annotations

import pytest
import torch
import yaml

from pipeline.config import ARCH_PARAMS
from pipeline.errors import ConfigError
from pipeline.models import build_model, predict
from tests.conftest import ROOT

SHAPES = {"digits": [1, 8, 8], "mnist": [1, 28, 28], "cifar10": [3, 32, 32]}


def params_for(arch: str):
    """The first model in params.yaml with this architecture (every registered one has one)."""
    train = yaml.safe_load((ROOT / "params.yaml").read_text())["train"]
    entry = next(p for p in train.values() if p["arch"] == arch)
    return ARCH_PARAMS[arch].model_validate(entry)


@pytest.mark.parametrize("arch", sorted(ARCH_PARAMS))
@pytest.mark.parametrize("dataset", sorted(SHAPES))
def test_every_model_forward_and_one_step(arch, dataset):
    torch.manual_seed(0)
    shape = SHAPES[dataset]
    classes = [str(i) for i in range(10)]
    model = build_model(arch, params_for(arch), shape, classes, [0.5] * shape[0], [0.25] * shape[0])
    x = torch.rand(6, *shape)
    y = torch.arange(6)
    logits = model(x)
    assert logits.shape == (6, 10) and torch.isfinite(logits).all()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train()
    before = torch.nn.functional.cross_entropy(model.eval()(x), y).item()
    for _ in range(5):
        model.train()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    after = torch.nn.functional.cross_entropy(model.eval()(x), y).item()
    assert after < before
    assert predict(model, (x * 255).to(torch.uint8), 4).shape == (6, 10)


def test_cnn_refuses_more_pooling_than_the_image_allows():
    p = params_for("cnn").model_copy(update={"channels": [8, 8, 8, 8]})
    with pytest.raises(ConfigError, match="4 pooling blocks shrink a 8x8 image to nothing"):
        build_model("cnn", p, [1, 8, 8], ["a", "b"], [0.5], [0.5])


def test_course_architectures():
    mlp = build_model("mlp", params_for("mlp"), [1, 28, 28], list("0123456789"), [0.1], [0.3])
    linears = [m for m in mlp.modules() if isinstance(m, torch.nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(784, 512), (512, 512), (512, 10)]
    cnn = build_model("cnn", params_for("cnn"), [3, 32, 32], list("0123456789"), [0.5] * 3, [0.2] * 3)
    convs = [m.out_channels for m in cnn.modules() if isinstance(m, torch.nn.Conv2d)]
    fcs = [(l.in_features, l.out_features) for l in cnn.modules() if isinstance(l, torch.nn.Linear)]
    assert convs == [16, 32, 64] and fcs == [(64 * 4 * 4, 500), (500, 10)]
