"""Your own data (docs/own-data.md): each model family trained briefly on real files declared
through a generic source, by the real stage scripts (and, for the char-RNN, the real dvc CLI on a
copy of the project, with the folder as a dependency). Bad files: tests/test_own_data_errors.py."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.core.io import load_torch
from pipeline.data.formats import parse_admissions_csv, parse_table_csv
from pipeline.schema.backbones import BackboneParams
from pipeline.weights.backbone import fetch_backbone
from tests.conftest import image_folder_files
from tests.helpers.project import make_project
from tests.helpers.stages import stage_ok as stage

# Each test trains a model through its real stage scripts (one through the real dvc CLI): slow.
pytestmark = pytest.mark.slow


class Own:
    """Datasets of your own in `root`: datasets/<name>/, data/raw/<name>/, data/processed/<name>/."""

    def __init__(self, root: Path, params: dict) -> None:
        self.root, self.params = root, params
        self.path = root / "params.yaml"

    def folder(self, name: str) -> Path:
        (self.root / "datasets" / name).mkdir(parents=True, exist_ok=True)
        return self.root / "datasets" / name

    def write(self) -> Path:
        self.path.write_text(yaml.safe_dump(self.params, sort_keys=False))
        return self.path

    def download(self, name: str, **entry) -> dict:
        self.params["download"][name] = entry
        stage(
            "download",
            name,
            "--dataset-dir",
            self.folder(name),
            "--out",
            self.raw(name),
            "--facts",
            self.facts(name),
            params=self.write(),
        )
        return json.loads(self.facts(name).read_text())

    def raw(self, name: str) -> Path:
        return self.root / "data/raw" / name

    def facts(self, name: str) -> Path:
        return self.root / "data/sources" / f"{name}.json"

    def processed(self, name: str, file: str) -> Path:
        return self.root / "data/processed" / name / file

    def train_outputs(self, model: str) -> list:
        return [
            "--checkpoint",
            self.root / "models" / model / "model.pt",
            "--loss-curve",
            self.root / "curves" / model / "loss.csv",
            "--accuracy-curve",
            self.root / "curves" / model / "accuracy.csv",
        ]

    def splits(self, name: str) -> list:
        return [x for s in ("train", "val", "test") for x in (f"--{s}", self.processed(name, f"{s}.pt"))]


@pytest.fixture
def own(tmp_path, small_params) -> Own:
    return Own(tmp_path, small_params)


def test_a_table_of_your_own_trains_logreg_and_the_perceptron(own, course_files):
    """student_data.csv as table_csv, rank one-hot: the same features as the course's own reader."""
    shutil.copy(course_files / "student_data.csv", own.folder("grades"))
    facts = own.download("grades", source="table_csv", label_column="admit", onehot=["rank"])
    assert (facts["kind"], facts["classes"]) == ("tabular", ["0", "1"])
    ours, course = parse_table_csv(own.raw("grades"), None, "admit", ["rank"]), parse_admissions_csv(own.raw("grades"))
    assert ours["all"].features == course["all"].features == ("gre", "gpa", "rank_1", "rank_2", "rank_3", "rank_4")
    assert np.array_equal(ours["all"].inputs, course["all"].inputs)
    assert np.array_equal(ours["all"].labels, course["all"].labels)

    own.params["normalize"]["grades"] = {"test_fraction": 0.1, "val_fraction": 0.1, "seed": 0}
    stage(
        "normalize",
        "grades",
        "--raw",
        own.raw("grades"),
        "--facts",
        own.facts("grades"),
        *own.splits("grades"),
        "--stats",
        own.processed("grades", "stats.json"),
        params=own.write(),
    )
    stats = json.loads(own.processed("grades", "stats.json").read_text())
    assert stats["counts"] == {"train": 324, "val": 36, "test": 40} and stats["classes"] == ["0", "1"]
    for model in ("logreg", "perceptron"):
        own.params["tabular"][model]["dataset"] = "grades"
        stage(
            "train_tabular",
            model,
            "--train",
            own.processed("grades", "train.pt"),
            "--val",
            own.processed("grades", "val.pt"),
            "--stats",
            own.processed("grades", "stats.json"),
            *own.train_outputs(model),
            params=own.write(),
        )
        spec = load_torch(own.root / "models" / model / "model.pt")["spec"]
        assert spec["classes"] == ["0", "1"] and spec["features"][2:] == ["rank_1", "rank_2", "rank_3", "rank_4"]


def test_a_text_of_your_own_trains_the_char_rnn_and_its_folder_is_a_dependency(tmp_path, small_params, course_files):
    """anna.txt as text_files through `dvc repro train_charrnn@charrnn`; a file added to the folder
    reruns its download stage, and nothing else is stale until that has run."""
    small_params["download"]["novel"] = {"source": "text_files"}
    small_params["encode_text"]["novel"] = {"val_fraction": 0.1, "max_chars": 20000}
    small_params["charrnn"]["charrnn"]["corpus"] = "novel"
    project = make_project(tmp_path / "project", small_params)
    folder = project.path / "datasets/novel"
    folder.mkdir()
    shutil.copy(course_files / "anna.txt", folder / "01-anna.txt")
    project.dvc("repro", "train_charrnn@charrnn")
    vocab = json.loads((project.path / "data/processed/novel/vocab.json").read_text())
    assert vocab["source"] == "text_files" and vocab["characters"] == 20000
    assert (project.path / "models/charrnn/model.pt").is_file()
    target = ["status", "--with-deps", "--json", "train_charrnn@charrnn"]
    assert json.loads(project.dvc(*target).stdout) == {}
    (folder / "02-more.txt").write_text("Chapter 2\n", encoding="utf-8")  # read after 01-anna.txt
    assert set(json.loads(project.dvc(*target).stdout)) == {"download@novel"}


def test_labeled_text_of_your_own_trains_the_sentiment_model(own, course_files):
    """Lines of anna.txt with two labels (does Levin appear?) in a TSV."""
    lines = [x for x in (course_files / "anna.txt").read_text(encoding="utf-8").splitlines() if len(x.split()) > 5]
    with open(own.folder("lines") / "lines.tsv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, delimiter="\t")
        out.writerow(["line", "who"])
        out.writerows([line, "levin" if "Levin" in line else "other"] for line in lines[:1200])
    facts = own.download("lines", source="labeled_text", text_column="line", label_column="who")
    assert (facts["kind"], facts["classes"]) == ("reviews", ["levin", "other"])
    own.params["encode_reviews"]["lines"] = {
        "seq_length": 24,
        "min_count": 1,
        "test_fraction": 0.1,
        "val_fraction": 0.1,
        "seed": 0,
    }
    stage(
        "encode_reviews",
        "lines",
        "--raw",
        own.raw("lines"),
        "--facts",
        own.facts("lines"),
        *own.splits("lines"),
        "--vocab",
        own.processed("lines", "vocab.json"),
        params=own.write(),
    )
    vocab = json.loads(own.processed("lines", "vocab.json").read_text())
    assert vocab["classes"] == ["levin", "other"] and sum(vocab["counts"].values()) == 1200
    own.params["sentiment"]["sentiment"]["dataset"] = "lines"
    stage(
        "train_sentiment",
        "sentiment",
        "--train",
        own.processed("lines", "train.pt"),
        "--val",
        own.processed("lines", "val.pt"),
        "--vocab",
        own.processed("lines", "vocab.json"),
        *own.train_outputs("sentiment"),
        params=own.write(),
    )
    assert (own.root / "models/sentiment/model.pt").is_file()


def test_photos_of_your_own_for_style_transfer_and_filters(own, course_files):
    """The course's octopus and Hockney as photos: a tiny style transfer, and the filters stage."""
    for name in ("octopus.jpg", "hockney.jpg"):
        shutil.copy(course_files / name, own.folder("mine"))
    (own.folder("mine") / "notes.txt").write_text("not a photo: ignored\n")
    assert own.download("mine", source="photos")["kind"] == "photos"
    own.params["style"]["style"].update(images="mine", content="octopus.jpg", style="hockney.jpg")
    own.params["filters"].update(photos="mine", images=["octopus.jpg", "hockney.jpg"])
    fetch_backbone("vgg", BackboneParams(arch="vgg19", weights="random", seed=0), own.root / "vgg.pt")  # not under test
    stage(
        "style",
        "style",
        "--photos",
        own.raw("mine"),
        "--vgg",
        own.root / "vgg.pt",
        "--image",
        own.root / "stylized.png",
        "--curve",
        own.root / "style.csv",
        "--metrics",
        own.root / "style.json",
        params=own.write(),
    )
    assert json.loads((own.root / "style.json").read_text())["steps"] == 2
    stage(
        "filters",
        "mine",
        "--photos",
        own.raw("mine"),
        "--facts",
        own.facts("mine"),
        "--out",
        own.root / "filters.png",
        "--metrics",
        own.root / "filters.json",
        params=own.path,
    )
    assert (own.root / "filters.png").stat().st_size > 0


def test_cats_and_dogs_as_an_image_folder(own, course_files):
    photos = {"cat": course_files / "cat.70.jpg", "dog": course_files / "dog.128.jpg"}
    for rel, data in image_folder_files(photos, per_class=4).items():
        (own.folder("pets") / rel).parent.mkdir(parents=True, exist_ok=True)
        (own.folder("pets") / rel).write_bytes(data)
    assert own.download("pets", source="image_folder")["kind"] == "image"
    own.params["normalize"]["pets"] = {"val_fraction": 0.25, "seed": 0, "size": 16}
    own.params["augment"]["pets"] = dict(own.params["augment"]["digits"], hflip=0.5)
    own.params["train"]["fashion_mlp"]["dataset"] = "pets"
    stage(
        "normalize",
        "pets",
        "--raw",
        own.raw("pets"),
        "--facts",
        own.facts("pets"),
        *own.splits("pets"),
        "--stats",
        own.processed("pets", "stats.json"),
        params=own.write(),
    )
    assert json.loads(own.processed("pets", "stats.json").read_text())["classes"] == ["cat", "dog"]
    policy, preview = own.root / "policy.json", own.root / "preview.png"
    stage(
        "augment",
        "pets",
        "--train",
        own.processed("pets", "train.pt"),
        "--facts",
        own.facts("pets"),
        "--policy",
        policy,
        "--preview",
        preview,
        params=own.path,
    )
    stage(
        "train",
        "fashion_mlp",
        "--train",
        own.processed("pets", "train.pt"),
        "--val",
        own.processed("pets", "val.pt"),
        "--stats",
        own.processed("pets", "stats.json"),
        "--policy",
        policy,
        *own.train_outputs("fashion_mlp"),
        params=own.path,
    )
    assert (own.root / "models/fashion_mlp/model.pt").is_file()
