"""Logistic regression, the perceptron and the tabular MLP on tables: the parsers, the perceptron
trick itself, gradient descent against scikit-learn, the L1 penalty and random restarts, and the
course's own files downloaded over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline.core import params
from pipeline.core.errors import ConfigError, DataError
from pipeline.core.io import read_json
from pipeline.core.store import DatasetInfo, Split, load_split, read_info
from pipeline.data.formats import (
    parse_admissions_csv,
    parse_breast_cancer_csv,
    parse_points_csv,
)
from pipeline.inspection.evaluate import evaluate_model
from pipeline.models import TabularClassifier, build_model, predict
from pipeline.schema.logreg import Params as LogRegParams
from pipeline.schema.perceptron import Params as PerceptronParams
from pipeline.schema.tabular_mlp import Params as MLPParams
from pipeline.training.tabular import LEARNERS, l1_penalty, perceptron_epoch, train_tabular
from pipeline.weights.checkpoint import load_checkpoint
from tests.conftest import fetch, md5, prepared_store


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    return prepared_store(tmp_path_factory.mktemp("cancer"), "breast_cancer")


def test_breast_cancer_is_relabelled_so_malignant_is_positive(cancer):
    arrays = parse_breast_cancer_csv(cancer["root"] / "raw")["all"]
    assert arrays.inputs.shape == (569, 30) and arrays.inputs.dtype == np.float32
    assert np.bincount(arrays.labels).tolist() == [357, 212]  # 212 malignant = class 1
    assert arrays.features[0] == "mean radius" and arrays.features[10] == "radius error"
    info = read_info(cancer["stats"])
    assert info.kind == "tabular" and info.classes == ["benign", "malignant"] and len(info.features) == 30


def test_the_perceptron_trick_moves_the_line_towards_a_misclassified_point():
    model = TabularClassifier(torch.nn.Linear(2, 1), [0.0, 0.0], [1.0, 1.0])
    with torch.no_grad():
        model.body.weight.zero_()
        model.body.bias.fill_(-1.0)  # everything is class 0
    point = Split(torch.tensor([[2.0, 3.0]]), torch.tensor([1]))
    perceptron_epoch(model, point, 0.5, torch.Generator().manual_seed(0))
    assert model.body.weight.tolist() == [[1.0, 1.5]] and model.body.bias.item() == -0.5  # w += lr x, b += lr


def test_the_perceptron_separates_separable_points(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 2, generator=g)
    y = (x[:, 0] + 2 * x[:, 1] > 0.3).long()
    data = Split(x, y)
    info = type(
        "Info",
        (),
        {"features": ["x1", "x2"], "classes": ["0", "1"], "mean": [0.0, 0.0], "std": [1.0, 1.0], "dataset": "points"},
    )()
    p = PerceptronParams(arch="perceptron", dataset="points", lr=0.1, epochs=50, patience=50, seed=0)
    result = train_tabular("p", p, data, data, info, tmp_path / "m.pt", tmp_path / "l.csv", tmp_path / "a.csv")
    assert result.history[result.best_epoch - 1]["val_accuracy"] == 1.0


def test_logistic_regression_matches_scikit_learn(cancer, tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    train, val, test = (load_split(cancer[s]) for s in ("train", "val", "test"))
    p = LogRegParams(
        arch="logreg",
        dataset="breast_cancer",
        optimizer="sgd",
        lr=0.1,
        batch_size=None,
        weight_decay=0.0,
        epochs=300,
        patience=50,
        seed=0,
    )
    train_tabular(
        "lr", p, train, val, read_info(cancer["stats"]), tmp_path / "m.pt", tmp_path / "l.csv", tmp_path / "a.csv"
    )
    model, ckpt = load_checkpoint(tmp_path / "m.pt")
    ours = ((predict(model, test.inputs, 1000) > 0) == test.labels).float().mean().item()
    scaler = StandardScaler().fit(train.inputs.numpy())
    reference = LogisticRegression(max_iter=5000).fit(scaler.transform(train.inputs.numpy()), train.labels.numpy())
    theirs = reference.score(scaler.transform(test.inputs.numpy()), test.labels.numpy())
    assert ours > 0.92 and abs(ours - theirs) <= 0.04, (ours, theirs)
    assert ckpt["spec"]["binary"] and ckpt["spec"]["probabilistic"]


def test_the_course_files_download_and_parse(server, course_files, tmp_path):
    site = server.root / "course"
    site.mkdir()
    for name in ("student_data.csv", "data.csv"):
        shutil.copy(course_files / name, site / name)
    fetch("admissions", tmp_path / "adm", mirrors=[server.url + "course/"])
    fetch("points", tmp_path / "pts", mirrors=[server.url + "course/"])
    adm = parse_admissions_csv(tmp_path / "adm")["all"]
    assert adm.inputs.shape == (400, 6) and adm.features[2:] == ("rank_1", "rank_2", "rank_3", "rank_4")
    assert (adm.inputs[:, 2:].sum(1) == 1).all()  # one-hot rank
    pts = parse_points_csv(tmp_path / "pts")["all"]
    assert pts.inputs.shape == (100, 2) and set(pts.labels.tolist()) == {0, 1}
    assert md5(tmp_path / "adm" / "student_data.csv") == "db0f7fa12ef7e0a3b10ba856bdc21439"


def test_a_malformed_table_is_named(tmp_path):
    (tmp_path / "student_data.csv").write_text("admit,gre,gpa,rank\n1,700,3.5,9\n")
    with pytest.raises(DataError, match=r"student_data.csv: rank must be 1-4, got \[9\]"):
        parse_admissions_csv(tmp_path)
    (tmp_path / "data.csv").write_text("0.1,0.2,1\n0.3,oops,0\n")
    with pytest.raises(DataError, match="data.csv: a value is not a number"):
        parse_points_csv(tmp_path)


def _blobs(n: int = 240, features: int = 2) -> tuple[Split, Split, DatasetInfo]:
    """Two overlapping Gaussian classes (so validation losses differ from seed to seed)."""
    g = torch.Generator().manual_seed(1)
    y = torch.arange(n) % 2
    x = torch.randn(n, features, generator=g) + 1.2 * y[:, None].float()
    train, val = Split(x[: n * 2 // 3], y[: n * 2 // 3]), Split(x[n * 2 // 3 :], y[n * 2 // 3 :])
    info = DatasetInfo(
        "blobs",
        "blobs",
        "tabular",
        ["0", "1"],
        [features],
        train.inputs.mean(0).tolist(),
        train.inputs.std(0).tolist(),
        {},
        [f"x{i}" for i in range(features)],
    )
    return train, val, info


def _mlp(**overrides) -> MLPParams:
    return MLPParams(
        **{
            "arch": "tabular_mlp",
            "dataset": "blobs",
            "hidden": [8],
            "activation": "tanh",
            "optimizer": "sgd",
            "lr": 0.3,
            "batch_size": 32,
            "epochs": 15,
            "patience": 15,
            "seed": 0,
        }
        | overrides
    )


def test_every_tabular_arch_has_a_way_to_learn():
    import importlib

    from pipeline.core.params import MODELS

    tabular = {
        p.stem
        for p in MODELS.glob("*.py")
        if not p.stem.startswith("_") and importlib.import_module(f"pipeline.schema.{p.stem}").SECTION == "tabular"
    }
    assert tabular == set(LEARNERS) == {"logreg", "perceptron", "tabular_mlp"}


def test_l1_drives_weights_towards_zero(cancer, tmp_path):
    train, val = load_split(cancer["train"]), load_split(cancer["val"])
    weights = {}
    for l1 in (0.0, 0.03):
        p = LogRegParams(
            arch="logreg",
            dataset="breast_cancer",
            optimizer="sgd",
            lr=0.1,
            batch_size=None,
            epochs=150,
            patience=150,
            seed=0,
            l1=l1,
        )
        train_tabular(
            "lr", p, train, val, read_info(cancer["stats"]), tmp_path / "m.pt", tmp_path / "l.csv", tmp_path / "a.csv"
        )
        model, _ = load_checkpoint(tmp_path / "m.pt")
        weights[l1] = model.body.weight.detach().abs().flatten()
        assert l1_penalty(model).item() == pytest.approx(weights[l1].sum().item())  # weights only, not the bias
    plain, sparse = weights[0.0], weights[0.03]  # smaller weights overall, many at about 0
    assert sparse.sum() < 0.6 * plain.sum(), (sparse.sum(), plain.sum())
    assert (sparse < 0.01).sum() >= (plain < 0.01).sum() + 8, (sparse < 0.01).sum()


def test_restarts_keep_the_run_with_the_lowest_validation_loss(tmp_path):
    train, val, info = _blobs()
    alone = {}
    for seed in (5, 6, 7):
        r = train_tabular(
            "mlp",
            _mlp(seed=seed),
            train,
            val,
            info,
            tmp_path / f"{seed}.pt",
            tmp_path / f"{seed}.csv",
            tmp_path / f"a{seed}.csv",
        )
        alone[seed] = r.best_val_loss
        assert load_checkpoint(tmp_path / f"{seed}.pt")[1]["metrics_extra"] == {}  # one run: nothing to spread
    assert len(set(alone.values())) == 3, alone
    best_seed = min(alone, key=alone.get)
    result = train_tabular(
        "mlp", _mlp(seed=5, restarts=3), train, val, info, tmp_path / "m.pt", tmp_path / "l.csv", tmp_path / "a.csv"
    )
    model, ckpt = load_checkpoint(tmp_path / "m.pt")
    assert result.best_val_loss == ckpt["metrics"]["val_loss"] == min(alone.values())
    assert (tmp_path / "l.csv").read_bytes() == (tmp_path / f"{best_seed}.csv").read_bytes()  # the best run's curves
    assert torch.equal(model.body[0].weight, load_checkpoint(tmp_path / f"{best_seed}.pt")[0].body[0].weight)
    losses = list(alone.values())
    assert ckpt["metrics_extra"] == {
        "restarts": 3,
        "restart_best_seed": best_seed,
        "restart_val_loss_min": round(min(losses), 6),
        "restart_val_loss_max": round(max(losses), 6),
        "restart_val_loss_std": round(float(np.std(losses)), 6),
    }
    out = {k: tmp_path / f"{k}.out" for k in ("metrics", "per_class", "confusion", "confusion_png")}
    evaluate_model(tmp_path / "m.pt", {"val": val, "test": val}, 64, torch.device("cpu"), out)
    metrics = read_json(out["metrics"])
    assert metrics["restarts"] == 3 and metrics["restart_best_seed"] == best_seed  # evaluate writes the spread


def test_the_perceptron_restarts_too(tmp_path):
    train, val, info = _blobs()
    p = PerceptronParams(arch="perceptron", dataset="blobs", lr=0.1, epochs=5, patience=5, seed=0, restarts=2)
    train_tabular("p", p, train, val, info, tmp_path / "m.pt", tmp_path / "l.csv", tmp_path / "a.csv")
    extra = load_checkpoint(tmp_path / "m.pt")[1]["metrics_extra"]
    assert extra["restarts"] == 2 and extra["restart_best_seed"] in (0, 1)


@pytest.mark.parametrize(
    "name, change, message",
    [
        ("logreg", {"l1": -0.1}, r"tabular.logreg.l1: Input should be greater than or equal to 0"),
        ("logreg", {"restarts": 0}, r"tabular.logreg.restarts: Input should be greater than 0"),
        ("perceptron", {"l1": 0.1}, r"tabular.perceptron.l1: unknown key"),
        ("perceptron", {"restarts": 0}, r"tabular.perceptron.restarts: Input should be greater than 0"),
        ("mlp", {"hidden": []}, r"tabular.mlp.hidden: List should have at least 1 item"),
        ("mlp", {"activation": "gelu"}, r"tabular.mlp.activation: Input should be 'relu', 'tanh' or 'sigmoid'"),
        ("mlp", {"l1": -1.0}, r"tabular.mlp.l1: Input should be greater than or equal to 0"),
    ],
)
def test_bad_knobs_are_named(name, change, message):
    real = params.read_yaml(Path(__file__).resolve().parents[1] / "params.yaml")
    entries = {
        "logreg": real["tabular"]["logreg"],
        "perceptron": real["tabular"]["perceptron"],
        "mlp": _mlp().model_dump(),
    }
    raw = {"tabular": {name: entries[name] | change}}
    with pytest.raises(ConfigError, match=message):
        params.entry(raw, "tabular", name)


def test_the_tabular_mlp_has_its_hidden_layers():
    built = build_model(
        "tabular_mlp",
        _mlp(hidden=[5, 3], activation="relu"),
        {"features": ["a", "b"], "mean": [0.0, 0.0], "std": [1.0, 1.0]},
    )
    linears = [m for m in built.body if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(2, 5), (5, 3), (3, 1)]
    assert built(torch.zeros(4, 2)).shape == (4,)
