"""The real `dvc` CLI on a copy of the project with the real params.yaml shrunk: every family runs
end to end, only what changed runs again, and binding a model to a dataset brings it in.
(tests/test_granularity.py: what each kind of edit reruns; tests/test_check.py: bad params.)"""

from __future__ import annotations

import json

import pytest
import torch

from tests.conftest import dead_url, make_idx_dataset
from tests.helpers.dvc import edit_params, ran, restored

pytestmark = pytest.mark.slow

IMAGE_MODELS = ("mlp", "cnn", "fashion_mlp")
# What follows a model's training: evaluation, export, the deployment check, and (image models) the
# predictions picture.
AFTER = ("train", "evaluate", "export", "deploy")


def model_stages(family: str, model: str, image: bool = False) -> set[str]:
    suffix = "" if family == "train" else f"_{family}"
    return {f"{step}{suffix}@{model}" for step in AFTER + (("predictions", "visualize") if image else ())}


EXPECTED = (
    {f"{s}@{d}" for s in ("download", "normalize") for d in ("digits", "breast_cancer")}
    | {
        "download@pydoc",
        "download@synthetic_reviews",
        "download@sample_photos",
        "augment@digits",
        "encode_text@pydoc",
        "encode_reviews@synthetic_reviews",
        "backbone@vgg19_random",
        "style@style",
        "build_cpp",
    }
    | {s for m in IMAGE_MODELS for s in model_stages("train", m, image=True)}
    | model_stages("transfer", "transfer", image=True)
    | {s for m in ("logreg", "perceptron") for s in model_stages("tabular", m)}
    | model_stages("charrnn", "charrnn")
    | model_stages("sentiment", "sentiment")
    | {"boundary@logreg", "boundary@perceptron", "gates@perceptron", "gates@mlp", "filters", "report"}
)
# The report page shows every model and its settings (its deps: whole params sections and every
# model's outputs), so it reruns after any change to a model.
REPORT = {"report"}
READ_CNN = {"evaluate@cnn", "export@cnn", "deploy@cnn", "visualize@cnn", "train_transfer@transfer"}


def test_every_family_runs_end_to_end(reproduced, reproduced_copy):
    _, proc = reproduced
    # Every stage computed, but the C++ program: the session's `course_model` fixture compiled it
    # with this very stage (asserting that it ran), and the pipeline restored it from the run-cache.
    assert ran(proc) == EXPECTED - {"build_cpp"} and restored(proc) == {"build_cpp"}
    project = reproduced_copy
    assert project.status() == {}
    assert ran(project.dvc("repro")) == set()
    for model in (*IMAGE_MODELS, "transfer", "logreg", "perceptron", "sentiment"):
        metrics = json.loads((project.path / f"metrics/{model}.json").read_text())
        assert set(metrics) >= {"val", "test"}, model
        meta = json.loads((project.path / f"exports/{model}/metadata.json").read_text())
        assert set(meta["export"]["formats"]) == {"torchscript", "torch_export", "onnx"}
        assert all("file" in f for f in meta["export"]["formats"].values()), model
        # The C++ program and ONNX Runtime give the eager model's answers (deploy stages).
        deployed = json.loads((project.path / f"metrics/deploy/{model}.json").read_text())
        for consumer in ("cpp", "onnxruntime"):
            assert deployed[consumer]["accuracy"] == deployed["eager"]["accuracy"] == metrics["test"]["accuracy"]
        atol = project.read_params()["export"]["atol"]
        assert deployed["cpp"]["max_abs_diff"] <= atol and deployed["onnxruntime"]["max_abs_diff_at_most"] == atol
    for model in (*IMAGE_MODELS, "transfer"):  # the pictures of lessons 5 and 9
        for picture in ("predictions", "filters", "feature_maps"):
            assert (project.path / f"reports/{model}/{picture}.png").read_bytes()[:4] == b"\x89PNG", (model, picture)
    for path in ("reports/logreg/boundary.png", "reports/gates/mlp.png", "reports/filters/filters.png"):
        assert (project.path / path).read_bytes()[:4] == b"\x89PNG", path  # lessons 2 and 5
    gates = json.loads((project.path / "metrics/gates/mlp.json").read_text())
    assert set(gates) == {"AND", "OR", "NOT", "XOR"}
    charrnn = json.loads((project.path / "metrics/deploy/charrnn.json").read_text())
    assert charrnn["cpp"]["same_sampled_text"] and charrnn["cpp"]["same_greedy_text"], charrnn
    assert set(json.loads((project.path / "metrics/charrnn.json").read_text())["val"]) >= {"perplexity", "accuracy"}
    assert json.loads((project.path / "metrics/sentiment.json").read_text())["synthetic_data"] == 1
    assert json.loads((project.path / "metrics/style.json").read_text())["pretrained_vgg"] == 0
    for path in (
        "reports/style/stylized.png",
        "reports/charrnn/samples.txt",
        "data/augmented/digits/preview.png",
        "plots/curves/charrnn/loss.csv",
        "plots/style/style.csv",
        "exports/charrnn/model.pt2",
    ):
        assert (project.path / path).stat().st_size > 0, path


def test_a_change_reruns_exactly_the_stages_it_affects_and_a_run_seen_before_is_restored(reproduced_copy):
    """A change makes out of date exactly the stages it affects, through the checkpoints it changes;
    params seen before come back from the run-cache instead of training again. (That `make repro`
    then runs exactly the out-of-date stages and what follows from them, and nothing else, the
    session's `mlp_experiment` shows: test_team asserts it ran exactly MLP_STAGES.)"""
    project = reproduced_copy
    before = (project.path / "models/cnn/model.pt").read_bytes()
    # cnn's learning rate: cnn's training; once it has retrained, every stage that reads its
    # checkpoint (the transfer model trained on it too), and nothing of mlp or the data. (What reads
    # their outputs in turn follows: `make repro` plans the downstream closure, test_parallel.py.)
    lr = project.read_params()["train"]["cnn"]["lr"]
    edit_params(project, lambda p: p["train"]["cnn"].update(lr=lr * 2))
    assert set(project.status()) == {"train@cnn"} | REPORT
    assert ran(project.dvc("repro", "--single-item", "train@cnn")) == {"train@cnn"}
    assert (project.path / "models/cnn/model.pt").read_bytes() != before
    assert set(project.status()) == READ_CNN | REPORT
    # Back to the committed value: restored from the run-cache, the same bytes, nothing trained, and
    # so nothing downstream is out of date any more.
    edit_params(project, lambda p: p["train"]["cnn"].update(lr=lr))
    back = project.dvc("repro", "--single-item", "train@cnn")
    assert ran(back) == set() and restored(back) == {"train@cnn"}, back.stdout + back.stderr
    assert (project.path / "models/cnn/model.pt").read_bytes() == before
    assert project.status() == {} and project.git("status", "--porcelain", "dvc.lock", "metrics").stdout == ""
    # The transfer head's params: the head is out of date, cnn is not (what follows from a retrained
    # checkpoint, the cnn learning rate above showed).
    edit_params(project, lambda p: p["transfer"]["transfer"].update(head=[8]))
    assert set(project.status()) == {"train_transfer@transfer"} | REPORT
    project.git("checkout", "params.yaml")
    # Augmentation: this dataset's augment stage; once it has run, the image models that read it
    # (and only they) are out of date. Nothing of normalize or download.
    edit_params(project, lambda p: p["augment"]["digits"].update(rotation_deg=5))
    assert set(project.status()) == {"augment@digits"}
    assert ran(project.dvc("repro", "--single-item", "augment@digits")) == {"augment@digits"}
    assert set(project.status()) == (
        {"train@mlp", "train@cnn", "train@fashion_mlp", "train_transfer@transfer"} | REPORT
    )
    project.git("checkout", "params.yaml", "dvc.lock")
    project.dvc("checkout")  # back to the committed outputs, restored from the cache
    assert project.status() == {}
    # Evaluation settings: every classifier's evaluate stage and nothing else.
    edit_params(project, lambda p: p["evaluate"].update(batch_size=7))
    assert set(project.status()) == {
        "evaluate@mlp",
        "evaluate@cnn",
        "evaluate@fashion_mlp",
        "evaluate_transfer@transfer",
        "evaluate_tabular@logreg",
        "evaluate_tabular@perceptron",
        "evaluate_sentiment@sentiment",
    }
    project.git("checkout", "params.yaml")
    # Code: the CNN's module reruns the stages that build a CNN. The transfer model on it follows
    # through the cnn checkpoint, its dependency, when retraining changes it (this comment does not).
    (project.path / "pipeline/models/cnn.py").open("a").write("\n# an edit\n")
    assert set(project.status()) == {"train@cnn", "evaluate@cnn", "export@cnn", "deploy@cnn", "visualize@cnn"}
    project.git("checkout", "pipeline/models/cnn.py")
    # Image augmentation code: image stages only, never the text or table models.
    (project.path / "pipeline/data/augment.py").open("a").write("\n# an edit\n")
    assert set(project.status()) == {
        "augment@digits",
        "train@mlp",
        "train@cnn",
        "train@fashion_mlp",
        "train_transfer@transfer",
    }


def test_binding_a_model_to_mnist_brings_mnist_in(reproduced_copy, server):
    project = reproduced_copy
    checksums = make_idx_dataset(server.root / "mnist", n_train=300, n_test=100)

    def bind(p):
        p["train"]["fashion_mlp"]["dataset"] = "mnist"
        p["download"]["mnist"].update(mirrors=[dead_url(), server.url + "mnist/"], checksums=checksums)

    edit_params(project, bind)
    stages = set(project.dvc("stage", "list", "--name-only").stdout.split())
    assert {"download@mnist", "normalize@mnist", "augment@mnist", "download@digits"} <= stages
    assert not any("fashion_mnist" in s or "cifar" in s for s in stages)
    # Its data comes in, the model trains on it and is exported for 28x28 inputs; the stages after
    # those are then out of date, as after any retraining (test_a_change_reruns_exactly_...).
    done = {"download@mnist", "normalize@mnist", "augment@mnist", "train@fashion_mlp", "export@fashion_mlp"}
    assert ran(project.dvc("repro", "export@fashion_mlp")) == done
    assert set(project.status()) == model_stages("train", "fashion_mlp", image=True) - done | REPORT
    stats = json.loads((project.path / "data/processed/mnist/stats.json").read_text())
    assert stats["shape"] == [1, 28, 28] and stats["counts"]["test"] == 100
    meta = json.loads((project.path / "exports/fashion_mlp/metadata.json").read_text())
    assert meta["dataset"] == "mnist" and meta["input"]["shape"] == ["batch", 1, 28, 28]
    program = torch.export.load(project.path / "exports/fashion_mlp/model.pt2").module()
    assert program(torch.rand(5, 1, 28, 28)).shape == (5, 10)
