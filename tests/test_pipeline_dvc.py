"""The real `dvc` CLI on a copy of the project with the real params.yaml shrunk: every family runs
end to end, only what changed runs again, and binding a model to a dataset brings it in.
(tests/test_granularity.py: what each kind of edit reruns; tests/test_check.py: bad params.)"""

from __future__ import annotations

import json
import re
import sys

import pytest
import torch

from tests.conftest import dead_url, make_idx_dataset, sh

pytestmark = pytest.mark.slow

IMAGE_MODELS = ("mlp", "cnn", "fashion_mlp")
EXPECTED = (
    {f"{s}@{d}" for s in ("download", "normalize") for d in ("digits", "breast_cancer")}
    | {"download@pydoc", "download@synthetic_reviews", "download@sample_photos", "augment@digits",
       "encode_text@pydoc", "encode_reviews@synthetic_reviews", "backbone@vgg19_random", "style@style"}
    | {f"{s}@{m}" for s in ("train", "evaluate", "export") for m in IMAGE_MODELS}
    | {f"{s}_transfer@transfer" for s in ("train", "evaluate", "export")}
    | {f"{s}_tabular@{m}" for s in ("train", "evaluate", "export") for m in ("logreg", "perceptron")}
    | {f"{s}_{f}@{f}" for s in ("train", "evaluate", "export") for f in ("charrnn", "sentiment")}
)
CNN_AND_TRANSFER = {"train@cnn", "evaluate@cnn", "export@cnn", "train_transfer@transfer",
                    "evaluate_transfer@transfer", "export_transfer@transfer"}


def ran(proc) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", proc.stdout))


def edit(project, change) -> None:
    params = project.read_params()
    change(params)
    project.write_params(params)


def test_every_family_runs_end_to_end(reproduced, reproduced_copy):
    _, proc = reproduced
    assert ran(proc) == EXPECTED
    project = reproduced_copy
    assert project.status() == {}
    assert ran(project.dvc("repro")) == set()
    for model in (*IMAGE_MODELS, "transfer", "logreg", "perceptron", "sentiment"):
        metrics = json.loads((project.path / f"metrics/{model}.json").read_text())
        assert set(metrics) >= {"val", "test"}, model
        meta = json.loads((project.path / f"exports/{model}/metadata.json").read_text())
        assert all("file" in f for f in meta["export"]["formats"].values()), model
    assert set(json.loads((project.path / "metrics/charrnn.json").read_text())["val"]) >= {"perplexity", "accuracy"}
    assert json.loads((project.path / "metrics/sentiment.json").read_text())["synthetic_data"] == 1
    assert json.loads((project.path / "metrics/style.json").read_text())["pretrained_vgg"] == 0
    for path in ("reports/style/stylized.png", "reports/charrnn/samples.txt", "data/augmented/digits/preview.png",
                 "plots/curves/charrnn/loss.csv", "plots/style/style.csv", "exports/charrnn/model.pt2"):
        assert (project.path / path).stat().st_size > 0, path


def test_a_change_reruns_exactly_the_stages_it_affects(reproduced_copy):
    project = reproduced_copy
    # cnn's learning rate: cnn, and the transfer model built on it; nothing of mlp or the data.
    edit(project, lambda p: p["train"]["cnn"].update(lr=p["train"]["cnn"]["lr"] * 2))
    assert set(project.status()) == {"train@cnn"}
    assert ran(project.dvc("repro")) == CNN_AND_TRANSFER
    # The transfer head's params: the head retrains, cnn does not.
    edit(project, lambda p: p["transfer"]["transfer"].update(head=[8]))
    assert ran(project.dvc("repro")) == {"train_transfer@transfer", "evaluate_transfer@transfer",
                                         "export_transfer@transfer"}
    project.git("add", "-A")
    project.git("commit", "-qm", "new cnn lr and transfer head")
    # Augmentation: this dataset's augment stage; once it has run, the image models that read it
    # (and only they) are out of date. Nothing of normalize or download.
    edit(project, lambda p: p["augment"]["digits"].update(rotation_deg=5))
    assert set(project.status()) == {"augment@digits"}
    assert ran(project.dvc("repro", "--single-item", "augment@digits")) == {"augment@digits"}
    assert set(project.status()) == {"train@mlp", "train@cnn", "train@fashion_mlp", "train_transfer@transfer"}
    project.git("checkout", "params.yaml", "dvc.lock")
    project.dvc("checkout")  # back to the committed outputs, restored from the cache
    assert project.status() == {}
    # Evaluation settings: every classifier's evaluate stage and nothing else.
    edit(project, lambda p: p["evaluate"].update(batch_size=7))
    assert set(project.status()) == {"evaluate@mlp", "evaluate@cnn", "evaluate@fashion_mlp",
                                     "evaluate_transfer@transfer", "evaluate_tabular@logreg",
                                     "evaluate_tabular@perceptron", "evaluate_sentiment@sentiment"}
    project.git("checkout", "params.yaml")
    # Code: the CNN's module reruns the stages that build a CNN. The transfer model on it follows
    # through the cnn checkpoint, its dependency, when retraining changes it (this comment does not).
    (project.path / "pipeline/models/cnn.py").open("a").write("\n# an edit\n")
    assert set(project.status()) == {"train@cnn", "evaluate@cnn", "export@cnn"}
    project.git("checkout", "pipeline/models/cnn.py")
    # Image augmentation code: image stages only, never the text or table models.
    (project.path / "pipeline/augment.py").open("a").write("\n# an edit\n")
    assert set(project.status()) == {"augment@digits", "train@mlp", "train@cnn", "train@fashion_mlp",
                                     "train_transfer@transfer"}


def test_make_repro_reruns_what_a_change_affects_and_restores_a_run_seen_before(reproduced_copy):
    """`make repro`'s scheduler keeps `dvc repro`'s promises: only the affected stages run, and
    params seen before come back from the run-cache instead of training again."""
    project = reproduced_copy
    scheduler = [sys.executable, "-m", "pipeline.parallel", "--jobs", "2"]
    lr = project.read_params()["train"]["cnn"]["lr"]
    edit(project, lambda p: p["train"]["cnn"].update(lr=lr * 2))
    assert ran(sh(scheduler, project.path)) == CNN_AND_TRANSFER
    assert project.status() == {}
    edit(project, lambda p: p["train"]["cnn"].update(lr=lr))
    back = sh(scheduler, project.path)
    assert ran(back) == set() and "is cached - skipping run" in back.stdout
    assert project.status() == {} and project.git("status", "--porcelain", "dvc.lock", "metrics").stdout == ""


def test_binding_a_model_to_mnist_brings_mnist_in(reproduced_copy, server):
    project = reproduced_copy
    checksums = make_idx_dataset(server.root / "mnist", n_train=300, n_test=100)

    def bind(p):
        p["train"]["fashion_mlp"]["dataset"] = "mnist"
        p["download"]["mnist"].update(mirrors=[dead_url(), server.url + "mnist/"], checksums=checksums)

    edit(project, bind)
    stages = set(project.dvc("stage", "list", "--name-only").stdout.split())
    assert {"download@mnist", "normalize@mnist", "augment@mnist", "download@digits"} <= stages
    assert not any("fashion_mnist" in s or "cifar" in s for s in stages)
    assert ran(project.dvc("repro")) == {"download@mnist", "normalize@mnist", "augment@mnist", "train@fashion_mlp",
                                         "evaluate@fashion_mlp", "export@fashion_mlp"}
    assert project.status() == {}
    stats = json.loads((project.path / "data/processed/mnist/stats.json").read_text())
    assert stats["shape"] == [1, 28, 28] and stats["counts"]["test"] == 100
    meta = json.loads((project.path / "exports/fashion_mlp/metadata.json").read_text())
    assert meta["dataset"] == "mnist" and meta["input"]["shape"] == ["batch", 1, 28, 28]
    program = torch.export.load(project.path / "exports/fashion_mlp/model.pt2").module()
    assert program(torch.rand(5, 1, 28, 28)).shape == (5, 10)
