"""Logistic regression and the perceptron on tables: the parsers, the perceptron trick itself,
gradient descent against scikit-learn, and the course's own files downloaded over HTTP."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from pipeline.checkpoint import load_checkpoint
from pipeline.core.errors import DataError
from pipeline.data.formats import parse_admissions_csv, parse_breast_cancer_csv, parse_points_csv
from pipeline.data.store import Split, load_split, read_info
from pipeline.models import TabularClassifier, predict
from pipeline.schema.logreg import Params as LogRegParams
from pipeline.schema.perceptron import Params as PerceptronParams
from pipeline.tabular import perceptron_epoch, train_tabular
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
    info = type("Info", (), {"features": ["x1", "x2"], "classes": ["0", "1"], "mean": [0.0, 0.0], "std": [1.0, 1.0],
                             "dataset": "points"})()
    p = PerceptronParams(arch="perceptron", dataset="points", lr=0.1, epochs=50, patience=50, seed=0)
    result = train_tabular("p", p, data, data, info, tmp_path / "m.pt", tmp_path / "l.csv", tmp_path / "a.csv")
    assert result.history[result.best_epoch - 1]["val_accuracy"] == 1.0


def test_logistic_regression_matches_scikit_learn(cancer, tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    train, val, test = (load_split(cancer[s]) for s in ("train", "val", "test"))
    p = LogRegParams(arch="logreg", dataset="breast_cancer", optimizer="sgd", lr=0.1, batch_size=None, weight_decay=0.0,
                     epochs=300, patience=50, seed=0)
    train_tabular("lr", p, train, val, read_info(cancer["stats"]), tmp_path / "m.pt", tmp_path / "l.csv",
                  tmp_path / "a.csv")
    model, ckpt = load_checkpoint(tmp_path / "m.pt")
    ours = ((predict(model, test.inputs, 1000) > 0) == test.labels).float().mean().item()
    scaler = StandardScaler().fit(train.inputs.numpy())
    reference = LogisticRegression(max_iter=5000).fit(scaler.transform(train.inputs.numpy()), train.labels.numpy())
    theirs = reference.score(scaler.transform(test.inputs.numpy()), test.labels.numpy())
    assert ours > 0.92 and abs(ours - theirs) <= 0.04, (ours, theirs)
    assert ckpt["spec"]["binary"] and ckpt["spec"]["probabilistic"]


def test_the_course_files_download_and_parse(server, shared_data, tmp_path):
    site = server.root / "course"
    site.mkdir()
    for name in ("student_data.csv", "data.csv"):
        shutil.copy(shared_data / name, site / name)
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
