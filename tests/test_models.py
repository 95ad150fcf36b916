"""Every registered model through a forward pass (shape, no NaN) and a tiny training step, on
inputs of the shapes its family gets; plus the course's architectures, layer by layer."""

from __future__ import annotations

import importlib

import pytest
import torch
import torch.nn.functional as F

from pipeline.core.errors import ConfigError
from pipeline.core.params import MODELS, arch_schema, read_yaml
from pipeline.models import as_float, build_model
from pipeline.schema import gates
from tests.conftest import ROOT

PARAMS = read_yaml(ROOT / "params.yaml")
MODEL_SECTIONS = ("train", "transfer", "tabular", "charrnn", "sentiment")
REGISTERED = sorted(p.stem for p in MODELS.glob("*.py") if not p.stem.startswith("_"))  # one file per architecture
IMAGE_SHAPES = {"digits": [1, 8, 8], "mnist": [1, 28, 28], "cifar10": [3, 32, 32]}
TEN = [str(i) for i in range(10)]


def first_entry(arch: str) -> tuple[str | None, dict | None]:
    """(section, entry) of the first model in params.yaml with this architecture; (None, None) if none.
    A gates model is a tabular entry whose data the gates stage makes (pipeline.schema.gates)."""
    entries = [(section, m) for section in MODEL_SECTIONS for m in PARAMS[section].values()]
    entries += [("tabular", m | {"dataset": gates.DATASET}) for m in PARAMS["gates"]["models"].values()]
    return next(((section, m) for section, m in entries if m["arch"] == arch), (None, None))


def params_for(arch: str):
    """The first model in params.yaml with this architecture (every registered one has one)."""
    return arch_schema(arch, "test").model_validate(first_entry(arch)[1])


def image_spec(shape):
    return {"input_shape": shape, "classes": TEN, "mean": [0.5] * shape[0], "std": [0.25] * shape[0]}


def cases():
    """(id, arch, spec, inputs, labels, loss, call) for each registered architecture and input shape."""
    g = torch.Generator().manual_seed(0)
    out = []
    for arch in ("mlp", "cnn"):
        for name, shape in IMAGE_SHAPES.items():
            out.append(
                (
                    f"{arch}-{name}",
                    arch,
                    image_spec(shape),
                    torch.rand(6, *shape, generator=g),
                    torch.arange(6),
                    F.cross_entropy,
                    None,
                )
            )
    cnn = params_for("cnn")
    out.append(
        (
            "transfer-pipeline-cnn",
            "transfer",
            {
                "classes": ["even", "odd"],
                "backbone": {
                    "source": "pipeline",
                    "model": "cnn",
                    "arch": "cnn",
                    "params": cnn.model_dump(),
                    "spec": image_spec([1, 8, 8]),
                },
            },
            torch.rand(6, 1, 8, 8, generator=g),
            torch.arange(6) % 2,
            F.cross_entropy,
            None,
        )
    )
    out.append(
        (
            "transfer-torchvision-resnet18",
            "transfer",
            {"classes": ["cat", "dog"], "backbone": {"source": "torchvision", "arch": "resnet18", "weights": "random"}},
            torch.rand(4, 3, 32, 32, generator=g),
            torch.arange(4) % 2,
            F.cross_entropy,
            None,
        )
    )
    for arch in ("logreg", "perceptron", "tabular_mlp"):
        out.append(
            (
                arch,
                arch,
                {"features": list("abcde"), "classes": ["no", "yes"], "mean": [1.0] * 5, "std": [2.0] * 5},
                torch.randn(8, 5, generator=g) * 2 + 1,
                torch.arange(8) % 2,
                lambda o, y: F.binary_cross_entropy_with_logits(o, y.float()),
                None,
            )
        )
    out.append(
        (
            "charrnn",
            "charrnn",
            {"chars": list("abcdefgh")},
            torch.randint(0, 8, (3, 12), generator=g),
            torch.randint(0, 8, (3, 12), generator=g),
            lambda o, y: F.cross_entropy(o.reshape(-1, 8), y.reshape(-1)),
            lambda m, x: m(x, *m.init_state(len(x)))[0],
        )
    )
    out.append(
        (
            "sentiment",
            "sentiment",
            {"vocab_size": 30, "seq_length": 10},
            torch.randint(0, 30, (6, 10), generator=g),
            torch.arange(6) % 2,
            lambda o, y: F.binary_cross_entropy_with_logits(o, y.float()),
            None,
        )
    )
    return out


CASES = cases()


def test_every_registered_architecture_is_covered():
    assert {c[1] for c in CASES} == set(REGISTERED)


def test_every_architecture_has_a_schema_that_validates_its_params_entry():
    for arch in REGISTERED:
        assert (MODELS.parent / "schema" / f"{arch}.py").is_file(), f"models/{arch}.py has no schema/{arch}.py"
        module = importlib.import_module(f"pipeline.schema.{arch}")
        section, entry = first_entry(arch)
        assert entry is not None, f"no model of params.yaml has arch {arch!r}"
        assert module.SECTION == section, arch
        assert module.Params.model_validate(entry).arch == arch
    listed = "unknown model 'nope'; registered models: " + ", ".join(REGISTERED) + "$"
    with pytest.raises(ConfigError, match=listed):
        build_model("nope", params_for("mlp"), image_spec([1, 8, 8]))


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_model_forward_and_one_step(case):
    forward_and_train(case, params_for(case[1]))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("arch", ["charrnn", "sentiment"])
def test_every_recurrent_cell_forward_and_one_step(arch, cell):
    case = next(c for c in CASES if c[0] == arch)
    forward_and_train(case, params_for(arch).model_copy(update={"cell": cell}))


def forward_and_train(case, params) -> None:
    """One forward pass (shape, no NaN), then 10 Adam steps lower the loss."""
    _, arch, spec, x, y, loss_fn, call = case
    torch.manual_seed(0)
    model = build_model(arch, params, spec)
    run = call or (lambda m, inputs: m(as_float(inputs)))
    model.eval()
    out = run(model, x)
    expected = {
        "logreg": (len(x),),
        "perceptron": (len(x),),
        "tabular_mlp": (len(x),),
        "sentiment": (len(x),),
        "charrnn": (*x.shape, 8),
    }.get(arch, (len(x), len(spec.get("classes", []))))
    assert tuple(out.shape) == expected and torch.isfinite(out).all()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=0.01)
    before = loss_fn(run(model, x), y).item()
    model.train()
    for _ in range(10):
        optimizer.zero_grad()
        loss_fn(run(model, x), y).backward()
        optimizer.step()
    model.eval()
    assert loss_fn(run(model, x), y).item() < before


def test_a_frozen_backbone_does_not_learn():
    spec = next(c for c in CASES if c[0] == "transfer-pipeline-cnn")[2]
    model = build_model("transfer", params_for("transfer"), spec)
    frozen = {k: v.clone() for k, v in model.body.features.state_dict().items()}
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    model.train()
    F.cross_entropy(model(torch.rand(4, 1, 8, 8)), torch.tensor([0, 1, 0, 1])).backward()
    optimizer.step()
    assert all(torch.equal(frozen[k], v) for k, v in model.body.features.state_dict().items())
    assert not model.body.features.training  # dropout and batch norm of the backbone stay in eval mode


def test_cnn_refuses_more_pooling_than_the_image_allows():
    p = params_for("cnn").model_copy(update={"channels": [8, 8, 8, 8]})
    with pytest.raises(ConfigError, match="4 pooling blocks shrink a 8x8 image to nothing"):
        build_model("cnn", p, image_spec([1, 8, 8]) | {"classes": ["a", "b"]})


def test_course_architectures():
    mlp = build_model("mlp", params_for("mlp"), image_spec([1, 28, 28]))
    linears = [m for m in mlp.modules() if isinstance(m, torch.nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(784, 512), (512, 512), (512, 10)]
    fashion = arch_schema("mlp", "test").model_validate(PARAMS["train"]["fashion_mlp"])
    widths = [
        m.out_features
        for m in build_model("mlp", fashion, image_spec([1, 28, 28])).modules()
        if isinstance(m, torch.nn.Linear)
    ]
    assert widths == [256, 128, 64, 10]
    cnn = build_model("cnn", params_for("cnn"), image_spec([3, 32, 32]))
    convs = [m.out_channels for m in cnn.modules() if isinstance(m, torch.nn.Conv2d)]
    fcs = [(lin.in_features, lin.out_features) for lin in cnn.modules() if isinstance(lin, torch.nn.Linear)]
    assert convs == [16, 32, 64] and fcs == [(64 * 4 * 4, 500), (500, 10)]
