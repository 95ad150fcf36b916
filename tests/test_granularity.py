"""The cache tells the truth, through the real `dvc` CLI on the shrunk project: an edit reruns
exactly the stages whose inputs it changes (code, params, a dataset's entry, your own files), and
nothing else."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from tests.conftest import ROOT, Project, clone_project, image_folder_files
from tests.helpers.dvc import append, edit_params, ran, stale

pytestmark = pytest.mark.slow

CHARRNN = {"train_charrnn@charrnn", "evaluate_charrnn@charrnn", "export_charrnn@charrnn", "deploy_charrnn@charrnn"}
IMAGE_TRAINING = {"train@mlp", "train@cnn", "train@fashion_mlp", "train_transfer@transfer"}

# The report page shows every model and its settings (its deps: whole params sections), so it
# reruns after any change to a model.
REPORT = {"report"}


@pytest.fixture(scope="module")
def shared_copy(reproduced, tmp_path_factory, dvc_cache) -> Project:
    return clone_project(reproduced[0], tmp_path_factory.mktemp("granularity") / "copy", dvc_cache)


@pytest.fixture
def status_copy(shared_copy) -> Project:
    """One copy for the tests that only edit files and ask `dvc status`; each test's edits are
    undone after it (outputs are never touched by these tests)."""
    yield shared_copy
    shared_copy.git("checkout", "-q", "--", ".")
    shared_copy.git("clean", "-qfd")


def test_a_family_schema_reruns_only_that_family(status_copy):
    append(status_copy, "pipeline/schema/charrnn.py")
    assert stale(status_copy) == CHARRNN


def test_the_core_reruns_everything(status_copy):
    every = set(status_copy.dvc("stage", "list", "--name-only").stdout.split())
    append(status_copy, "pipeline/core/io.py")
    assert stale(status_copy) == every and len(every) == 59


def test_a_dataset_entry_not_in_use_reruns_nothing(status_copy):
    """Adding an MD5 to mnist's entry (a dataset the default run does not use) touches no stage;
    editing digits' entry reruns its download, and only that until its output changes."""
    entry = status_copy.path / "datasets/mnist/source.yaml"
    entry.write_text(
        entry.read_text().replace(
            "  t10k-labels-idx1-ubyte.gz: ec29112dd5afa0611ce80d1b7f02629c\n",
            "  t10k-labels-idx1-ubyte.gz: ec29112dd5afa0611ce80d1b7f02629c\n"
            "  extra.gz: 0123456789abcdef0123456789abcdef\n",
        )
    )
    assert stale(status_copy) == set()
    append(status_copy, "datasets/digits/source.yaml", "# a comment\n")
    assert stale(status_copy) == {"download@digits"}


def test_adding_a_model_reruns_no_existing_stage(reproduced_copy):
    """A new architecture: its schema, its model module, its params section and one line in each
    dataset list it joins. Only its own stages are new."""
    project = reproduced_copy
    before = set(project.dvc("stage", "list", "--name-only").stdout.split())
    schema = (ROOT / "pipeline/schema/mlp.py").read_text().replace('"mlp"', '"wide"')
    (project.path / "pipeline/schema/wide.py").write_text(schema)
    (project.path / "pipeline/models/wide.py").write_text((ROOT / "pipeline/models/mlp.py").read_text())
    edit_params(project, lambda p: p["train"].update(wide=dict(p["train"]["mlp"], arch="wide", hidden=[16])))
    dvc_yaml = (project.path / "dvc.yaml").read_text()
    dvc_yaml = dvc_yaml.replace('"${train.mlp.dataset}",', '"${train.mlp.dataset}", "${train.wide.dataset}",')
    (project.path / "dvc.yaml").write_text(dvc_yaml)
    new = {"train@wide", "evaluate@wide", "export@wide", "deploy@wide", "predictions@wide", "visualize@wide"}
    assert set(project.dvc("stage", "list", "--name-only").stdout.split()) == before | new
    assert stale(project) == new | REPORT  # and the report, which shows every model's settings
    # The new architecture trains (what follows a checkpoint of an MLP's shape, mlp's own stages
    # show), and its training leaves every existing stage up to date.
    assert ran(project.dvc("repro", "--single-item", "train@wide")) == {"train@wide"}
    assert stale(project) == new - {"train@wide"} | REPORT


def test_sampling_settings_rerun_sampling_not_training(status_copy):
    edit_params(status_copy, lambda p: p["sample"]["charrnn"].update(prime="In "))
    # the samples, and the check that C++ writes the same text with these settings
    assert stale(status_copy) == {"evaluate_charrnn@charrnn", "deploy_charrnn@charrnn"}


def test_gpu_switches_rerun_image_training_only(status_copy):
    edit_params(status_copy, lambda p: p["accelerate"].update(channels_last=False))
    assert stale(status_copy) == IMAGE_TRAINING


def test_your_own_folder_is_a_dependency(reproduced_copy, tmp_path):
    """An image folder of your own in datasets/<name>/: adding, editing or removing a file reruns
    its download (then what reads it); an unchanged folder reruns nothing."""
    project = reproduced_copy
    from PIL import Image

    photos = {"china": tmp_path / "china.jpg", "flower": tmp_path / "flower.jpg"}
    for cls, path in photos.items():
        Image.open(project.path / f"data/raw/sample_photos/{cls}.jpg").save(path)
    folder = project.path / "datasets/photos"
    for rel, data in image_folder_files(photos, per_class=4).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)

    def declare(p):
        p["download"]["photos"] = {"source": "image_folder"}
        p["normalize"]["photos"] = {"val_fraction": 0.25, "seed": 0, "size": 16}
        p["augment"]["photos"] = dict(p["augment"]["digits"], hflip=0.5)
        p["train"]["fashion_mlp"]["dataset"] = "photos"

    edit_params(project, declare)
    # Up to the model that reads it (what follows a changed checkpoint, other tests show): the chain
    # from the folder to the checkpoint, and `dvc status` of that chain.
    chain = {"download@photos", "normalize@photos", "augment@photos", "train@fashion_mlp"}
    assert ran(project.dvc("repro", "train@fashion_mlp")) == chain

    def stale_chain() -> set[str]:
        return set(json.loads(project.dvc("status", "--with-deps", "--json", "train@fashion_mlp").stdout or "{}"))

    assert stale_chain() == set()
    victim = folder / "train/china/china.0.jpg"
    original = victim.read_bytes()
    victim.write_bytes((folder / "train/china/china.1.jpg").read_bytes())  # a "fixed" image
    assert stale_chain() == {"download@photos"}
    victim.write_bytes(original)  # the content decides, not the file's time: nothing to rerun
    assert stale_chain() == set()
    victim.unlink()  # a removed image
    assert stale_chain() == {"download@photos"}
    shutil.copy(folder / "test/flower/flower.4.jpg", folder / "test/flower/extra.jpg")  # and an added one
    assert stale_chain() == {"download@photos"}


def test_a_bad_value_fails_at_the_first_stage_that_reads_it(project):
    """Plain `dvc repro` (without make check): the stages that do not read the bad value run; the
    first that does fails with make check's message and writes nothing; the others never start."""
    edit_params(project, lambda p: p["train"]["cnn"].update(lr=-1))
    proc = project.dvc("repro", "train@cnn", check=False)
    assert proc.returncode != 0
    assert "train.cnn.lr: Input should be greater than 0 (got -1)" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert (project.path / "data/augmented/digits/policy.json").exists()  # its inputs were fine
    assert not (project.path / "models/cnn").exists()
    lock = yaml.safe_load((project.path / "dvc.lock").read_text())
    assert "train@cnn" not in lock["stages"] and "augment@digits" in lock["stages"]
