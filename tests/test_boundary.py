"""Decision-boundary figures of tabular models: the course's own points (data.csv) in their real
plane, breast_cancer's 30 features through the plane of two principal components, one feature as
a strip; the stage writes the same bytes as the function, every time."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from pipeline.core.store import DatasetInfo, Split, load_split, read_info
from pipeline.data.normalize import normalize_dataset
from pipeline.data.sources import facts, read_source
from pipeline.inspection.boundary import plane, plot_model_boundary
from pipeline.schema.logreg import Params as LogRegParams
from pipeline.schema.normalize import NormalizeParams
from pipeline.schema.perceptron import Params as PerceptronParams
from pipeline.training.tabular import train_tabular
from pipeline.weights.checkpoint import load_checkpoint
from tests.conftest import COURSE_FILES, ROOT, prepared_store

PNG = b"\x89PNG\r\n\x1a\n"


def _logreg(dataset: str, epochs: int) -> LogRegParams:
    return LogRegParams(
        arch="logreg", dataset=dataset, optimizer="sgd", lr=0.1, batch_size=None, epochs=epochs, patience=epochs, seed=0
    )


def _store(root, paths: dict, p, name: str = "logreg") -> dict:
    splits = {s: load_split(paths[s]) for s in ("train", "val", "test")}
    info = read_info(paths["stats"])
    train_tabular(name, p, splits["train"], splits["val"], info, root / "model.pt", root / "l.csv", root / "a.csv")
    return {"splits": splits, "info": info, "checkpoint": root / "model.pt"}


@pytest.fixture(scope="module")
def points(tmp_path_factory):
    """The course's data.csv (100 points in the plane) through normalize, and logistic regression on it."""
    shared = COURSE_FILES
    root = tmp_path_factory.mktemp("points")
    (root / "raw").mkdir()
    shutil.copy(shared / "data.csv", root / "raw" / "data.csv")
    paths = {s: root / f"{s}.pt" for s in ("train", "val", "test")}
    normalize_dataset(
        facts("points", read_source(ROOT / "datasets" / "points", "points")),
        root / "raw",
        NormalizeParams(val_fraction=0.2, test_fraction=0.2, seed=0),
        paths,
        root / "stats.json",
    )
    return _store(root, paths | {"stats": root / "stats.json"}, _logreg("points", 100)) | {"root": root}


def test_two_features_are_drawn_in_their_own_plane(points, tmp_path):
    out = plot_model_boundary(points["checkpoint"], points["splits"], points["info"], tmp_path / "b.png")
    assert not out["pca"] and out["test_accuracy"] >= 0.85, out
    assert (tmp_path / "b.png").read_bytes()[:8] == PNG
    plot_model_boundary(points["checkpoint"], points["splits"], points["info"], tmp_path / "again.png")
    assert (tmp_path / "again.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_the_stage_writes_the_same_figure(points, tmp_path):
    root = points["root"]
    plot_model_boundary(points["checkpoint"], points["splits"], points["info"], tmp_path / "direct.png")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stages.boundary",
            "logreg",
            "--checkpoint",
            str(root / "model.pt"),
            *(a for s in ("train", "val", "test") for a in (f"--{s}", str(root / f"{s}.pt"))),
            "--stats",
            str(root / "stats.json"),
            "--plot",
            str(tmp_path / "stage.png"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "stage.png").read_bytes() == (tmp_path / "direct.png").read_bytes()


def test_thirty_features_are_sliced_through_two_principal_components(tmp_path):
    paths = prepared_store(tmp_path / "cancer", "breast_cancer")
    store = _store(tmp_path, paths, _logreg("breast_cancer", 30))
    out = plot_model_boundary(store["checkpoint"], store["splits"], store["info"], tmp_path / "b.png")
    assert out["pca"] and out["test_accuracy"] > 0.9 and (tmp_path / "b.png").read_bytes()[:8] == PNG
    project, unproject, labels, pca = plane(store["info"], store["splits"]["train"])
    assert pca and labels[0].startswith("PC1 (") and labels[1].startswith("PC2 (")
    mean = np.asarray(store["info"].mean)
    assert np.allclose(project(mean[None]), 0) and np.allclose(unproject(np.zeros((1, 2))), mean)  # origin: the mean
    z = project(store["splits"]["train"].inputs.double().numpy())
    assert z[:, 0].var() > z[:, 1].var() > 1  # the directions of most variance, in order


def test_one_feature_is_a_strip(tmp_path):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(60) % 2
    x = (torch.randn(60, 1, generator=g) * 0.5 + 2 * y[:, None]).float()
    split = Split(x, y)
    info = DatasetInfo(
        "line", "line", "tabular", ["low", "high"], [1], x.mean(0).tolist(), x.std(0).tolist(), {}, ["x"]
    )
    train_tabular(
        "p",
        PerceptronParams(arch="perceptron", dataset="line", lr=0.1, epochs=10, patience=10, seed=0),
        split,
        split,
        info,
        tmp_path / "m.pt",
        tmp_path / "l.csv",
        tmp_path / "a.csv",
    )
    assert load_checkpoint(tmp_path / "m.pt")[1]["spec"]["probabilistic"] is False
    out = plot_model_boundary(
        tmp_path / "m.pt", {"train": split, "val": split, "test": split}, info, tmp_path / "b.png"
    )
    assert not out["pca"] and out["test_accuracy"] > 0.9 and (tmp_path / "b.png").read_bytes()[:8] == PNG
