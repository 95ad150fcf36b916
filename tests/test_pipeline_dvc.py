"""The real `dvc` CLI on a copy of the project with the real params.yaml shrunk: it runs end to
end, reruns only what changed, brings a dataset in when a model is bound to it, and refuses bad
params before writing anything."""

from __future__ import annotations

import json
import re

import pytest
import torch

from tests.conftest import dead_url, make_idx_dataset

pytestmark = pytest.mark.slow

DIGITS_DATA = {"download@digits", "normalize@digits", "augment@digits"}
PER_MODEL = {f"{stage}@{model}" for stage in ("train", "evaluate", "export") for model in ("mlp", "cnn")}


def ran(proc) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", proc.stdout))


def edit(project, change) -> None:
    params = project.read_params()
    change(params)
    project.write_params(params)


def test_repro_reruns_exactly_what_changed(project):
    assert ran(project.dvc("repro")) == DIGITS_DATA | PER_MODEL
    assert project.status() == {}
    for path in ("metrics/mlp.json", "metrics/cnn.json", "metrics/curves/cnn/loss.csv", "metrics/confusion/mlp.csv",
                 "exports/cnn/model.pt2", "exports/mlp/model.ts", "data/augmented/digits/preview.png"):
        assert (project.path / path).stat().st_size > 0, path
    metrics = json.loads((project.path / "metrics/cnn.json").read_text())
    assert set(metrics["test"]) == {"loss", "accuracy", "precision_macro", "recall_macro", "f1_macro"}
    assert ran(project.dvc("repro")) == set()

    # cnn's learning rate: cnn retrains, nothing of mlp or of the data does.
    edit(project, lambda p: p["train"]["cnn"].update(lr=p["train"]["cnn"]["lr"] * 2))
    assert set(project.status()) == {"train@cnn"}
    assert ran(project.dvc("repro")) == {"train@cnn", "evaluate@cnn", "export@cnn"}
    assert project.status() == {}

    # Augmentation: this dataset's augment stage and the models trained on it, no normalize or download.
    edit(project, lambda p: p["augment"]["digits"].update(rotation_deg=5))
    assert set(project.status()) == {"augment@digits"}
    assert ran(project.dvc("repro")) == {"augment@digits"} | {s for s in PER_MODEL}
    assert project.status() == {}

    # Evaluation settings: every evaluate stage and nothing else.
    edit(project, lambda p: p["evaluate"].update(batch_size=7))
    assert ran(project.dvc("repro")) == {"evaluate@mlp", "evaluate@cnn"}

    # Code: editing the CNN's module reruns the stages that import it and nothing of mlp.
    (project.path / "pipeline/models/cnn.py").open("a").write("\n# an edit\n")
    assert set(project.status()) == {"train@cnn", "evaluate@cnn", "export@cnn"}


def test_binding_a_model_to_mnist_brings_mnist_in(project, server):
    checksums = make_idx_dataset(server.root / "mnist", n_train=300, n_test=100)

    def bind(p):
        p["train"]["cnn"]["dataset"] = "mnist"
        p["download"]["mnist"].update(mirrors=[dead_url(), server.url + "mnist/"], checksums=checksums)

    edit(project, bind)
    stages = project.dvc("stage", "list", "--name-only").stdout.split()
    assert {"download@mnist", "normalize@mnist", "augment@mnist", "download@digits"} <= set(stages)
    assert not any("fashion" in s or "cifar" in s for s in stages)
    done = ran(project.dvc("repro"))
    assert {"download@mnist", "normalize@mnist", "augment@mnist", "train@cnn", "export@cnn"} <= done
    assert project.status() == {}
    stats = json.loads((project.path / "data/processed/mnist/stats.json").read_text())
    assert stats["shape"] == [1, 28, 28] and stats["counts"]["test"] == 100
    meta = json.loads((project.path / "exports/cnn/metadata.json").read_text())
    assert meta["dataset"] == "mnist" and meta["input"]["shape"] == ["batch", 1, 28, 28]
    program = torch.export.load(project.path / "exports/cnn/model.pt2").module()
    assert program(torch.rand(5, 1, 28, 28)).shape == (5, 10)


def test_bad_params_fail_before_anything_is_written(project):
    edit(project, lambda p: p["train"]["cnn"].update(lr=-1))
    proc = project.dvc("repro", check=False)
    assert proc.returncode != 0
    assert "train.cnn.lr: Input should be greater than 0 (got -1)" in proc.stdout + proc.stderr
    assert not (project.path / "dvc.lock").exists()
    for folder in ("data", "models", "metrics", "exports"):
        assert not (project.path / folder).exists(), folder
    cache = project.path / ".dvc" / "cache"
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))
