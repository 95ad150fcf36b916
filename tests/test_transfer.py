"""Transfer learning: a new head on the pipeline's own trained model, and on a torchvision
architecture whose weights are downloaded (from a local server here) and checked by hash; the
course's image-folder layout decoded once into the tensor store."""

from __future__ import annotations

import hashlib

import pytest
import torch

from pipeline.core.errors import ConfigError, DataError
from pipeline.core.io import load_torch
from pipeline.core.params import read_yaml
from pipeline.core.store import load_split, read_info
from pipeline.data.augment import Policy
from pipeline.data.formats import parse_image_folder_dir, parse_image_folder_zip
from pipeline.data.normalize import normalize_dataset
from pipeline.deployment.export import export_classifier
from pipeline.inspection.evaluate import evaluate_model
from pipeline.schema.backbones import BackboneParams
from pipeline.schema.normalize import NormalizeParams
from pipeline.schema.transfer import Params as TransferParams
from pipeline.training.engine.loop import Outputs
from pipeline.training.train import ImageData
from pipeline.training.transfer import train_transfer
from pipeline.weights.backbone import fetch_backbone
from pipeline.weights.checkpoint import load_checkpoint
from tests.conftest import ROOT, fetch, image_folder_files, runner, write_zip

NO_AUG = Policy(0.0, 0.0, (1.0, 1.0), 0.0, 0)
PARITY = {
    "0": "even",
    "1": "odd",
    "2": "even",
    "3": "odd",
    "4": "even",
    "5": "odd",
    "6": "even",
    "7": "odd",
    "8": "even",
    "9": "odd",
}


def transfer_params(**kw) -> TransferParams:
    p = read_yaml(ROOT / "params.yaml")["transfer"]["transfer"]
    return TransferParams.model_validate(p | {"epochs": 2, "device": "cpu"} | kw)


def train_head(p: TransferParams, backbone, store: dict, out):
    """`train_transfer` as its stage runs it: entry t with params `p`, on a prepared store's data
    (no augmentation), its checkpoint and curves under `out`."""
    data = ImageData(load_split(store["train"]), load_split(store["val"]), read_info(store["stats"]), NO_AUG)
    return train_transfer("t", p, backbone, data, Outputs.under(out), runner("transfer.t", p))


def test_a_head_on_the_pipelines_own_model(digits_store, trained_mlp, tmp_path):
    p = transfer_params(backbone="mlp", label_map=PARITY)
    train_head(p, trained_mlp, digits_store, tmp_path)
    model, ckpt = load_checkpoint(tmp_path / "model.pt")
    assert ckpt["spec"]["classes"] == ["even", "odd"] and ckpt["spec"]["backbone"]["model"] == "mlp"
    backbone = load_torch(trained_mlp)["model_state"]
    features = model.body.features.state_dict()
    assert all(torch.equal(features[k], backbone[f"body.{k}"]) for k in features)  # frozen: unchanged
    out = {k: tmp_path / f"r.{k}" for k in ("metrics", "per_class", "confusion", "confusion_png")}
    headline = evaluate_model(
        tmp_path / "model.pt",
        {"val": load_split(digits_store["val"]), "test": load_split(digits_store["test"])},
        500,
        torch.device("cpu"),
        out,
    )
    assert headline["test"]["accuracy"] > 0.8  # labels were mapped to even/odd the way the model was trained


def test_label_map_must_cover_every_class(digits_store, trained_mlp, tmp_path):
    with pytest.raises(ConfigError, match=r"transfer.t.label_map: must map every class .* missing \['9'\]"):
        train_head(
            transfer_params(backbone="mlp", label_map={str(d): "x" for d in range(9)}),
            trained_mlp,
            digits_store,
            tmp_path,
        )


def test_training_starts_from_the_backbones_weights(digits_store, trained_mlp, tmp_path, monkeypatch):
    """Fine-tuned too (freeze: false), the features start as the backbone's trained layers, not a fresh init."""
    import pipeline.training.transfer

    seen = {}

    def stop_before_training(name, model, *args, **kwargs):
        seen.update({k: v.clone() for k, v in model.body.features.state_dict().items()})

    monkeypatch.setattr(pipeline.training.transfer, "fit_images", stop_before_training)
    train_head(transfer_params(backbone="mlp", label_map=PARITY, freeze=False), trained_mlp, digits_store, tmp_path)
    body = load_checkpoint(trained_mlp)[0].body
    expected = torch.nn.Sequential(*list(body)[:-1]).state_dict()  # every layer but the replaced last one
    assert seen.keys() == expected.keys() and all(torch.equal(seen[k], v) for k, v in expected.items())


def test_the_model_module_builds_without_weights(trained_mlp, monkeypatch):
    """models/transfer.py builds the architecture its spec describes and touches no file or URL
    (training loads the backbone's weights); a torchvision backbone described as imagenet included."""
    import builtins
    import io

    import torchvision  # noqa: F401  (imported before files are blocked)

    from pipeline.models import build_model
    from pipeline.training.transfer import describe

    desc, p = describe(trained_mlp), transfer_params(backbone="mlp")

    def no_files(*args, **kwargs):
        raise AssertionError(f"building a transfer model opened {args[:1]}")

    with monkeypatch.context() as m:
        for owner, name in ((builtins, "open"), (io, "open"), (torch, "load"), (torch.hub, "load_state_dict_from_url")):
            m.setattr(owner, name, no_files)
        model = build_model("transfer", p, {"backbone": desc, "classes": ["even", "odd"]})
        resnet = build_model(
            "transfer",
            p,
            {
                "backbone": {"source": "torchvision", "arch": "resnet18", "weights": "imagenet"},
                "classes": ["cat", "dog"],
            },
        )
    assert model(torch.rand(2, 1, 8, 8)).shape == (2, 2) and resnet(torch.rand(2, 3, 32, 32)).shape == (2, 2)
    backbone = load_torch(trained_mlp)["model_state"]
    features = model.body.features.state_dict()
    assert not all(torch.equal(features[k], backbone[f"body.{k}"]) for k in features)  # a fresh initialization


@pytest.fixture
def resnet_site(server):
    """A resnet18 weights file named the torchvision way, <arch>-<sha256 prefix>.pth, served locally."""
    import io

    import torchvision

    torch.manual_seed(0)
    buf = io.BytesIO()
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), buf)
    digest = hashlib.sha256(buf.getvalue()).hexdigest()
    name = f"resnet18-{digest[:8]}.pth"
    (server.root / name).write_bytes(buf.getvalue())
    return server.url + name, digest


def test_torchvision_weights_are_checked_by_hash(resnet_site, tmp_path):
    url, digest = resnet_site
    fetch_backbone("r", BackboneParams(arch="resnet18", weights="imagenet", url=url), tmp_path / "ok.pt")
    saved = load_torch(tmp_path / "ok.pt")
    assert saved["arch"] == "resnet18" and saved["weights"] == "imagenet" and "fc.weight" in saved["state"]
    bad = "0" * 64
    with pytest.raises(DataError, match=r"(?s)could not download .* SHA256 .* does not match the expected 0000"):
        fetch_backbone("r", BackboneParams(arch="resnet18", weights="imagenet", url=url, sha256=bad), tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists() and not list(tmp_path.glob("*.pth*"))
    wrong_arch = BackboneParams(arch="vgg16", weights="imagenet", url=url)
    with pytest.raises(DataError, match="not vgg16 weights"):
        fetch_backbone("r", wrong_arch, tmp_path / "y.pt")


@pytest.fixture(scope="module")
def cat_dog_store(tmp_path_factory):
    from tests.conftest import COURSE_FILES

    root = tmp_path_factory.mktemp("catdog")
    files = image_folder_files({"cat": COURSE_FILES / "cat.70.jpg", "dog": COURSE_FILES / "dog.128.jpg"})
    for rel, data in files.items():
        (root / "folder" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "folder" / rel).write_bytes(data)
    facts = fetch("cat_dog", root / "raw", folder=root / "folder", source="image_folder")  # your own folder
    paths = {s: root / f"{s}.pt" for s in ("train", "val", "test")}
    normalize_dataset(
        facts, root / "raw", NormalizeParams(val_fraction=0.25, seed=0, size=32), paths, root / "stats.json"
    )
    return paths | {"stats": root / "stats.json", "root": root}


def test_image_folder_is_decoded_once_into_the_store(cat_dog_store):
    info = read_info(cat_dog_store["stats"])
    assert info.classes == ["cat", "dog"] and info.shape == [3, 32, 32]
    assert info.counts == {"train": 6, "val": 2, "test": 4}
    assert load_split(cat_dog_store["train"]).inputs.dtype == torch.uint8


@pytest.mark.slow  # trains a head on a torchvision backbone: seconds
def test_a_torchvision_backbone_on_an_image_folder(cat_dog_store, resnet_site, tmp_path):
    url, _ = resnet_site
    fetch_backbone("resnet", BackboneParams(arch="resnet18", weights="imagenet", url=url), tmp_path / "backbone.pt")
    p = transfer_params(backbone="resnet", label_map=None, batch_size=4)
    train_head(p, tmp_path / "backbone.pt", cat_dog_store, tmp_path)
    _, ckpt = load_checkpoint(tmp_path / "model.pt")
    assert ckpt["spec"]["mean"] == pytest.approx([0.485, 0.456, 0.406])  # the backbone's ImageNet normalization
    meta = export_classifier(
        tmp_path / "model.pt", load_split(cat_dog_store["test"]).inputs, tmp_path / "export", 1e-4, 8
    )
    assert {f for f, v in meta["export"]["formats"].items() if "file" in v} == {"torchscript", "torch_export", "onnx"}


def test_digit_backbone_refuses_other_image_shapes(cat_dog_store, trained_mlp, tmp_path):
    with pytest.raises(ConfigError, match=r"transfer.t.dataset: 'cat_dog' images are \[3, 32, 32\] but backbone 'mlp'"):
        train_head(transfer_params(backbone="mlp", label_map=None), trained_mlp, cat_dog_store, tmp_path)


def test_image_folder_zip_with_valid_split_and_a_corrupt_image(course_files, tmp_path):
    files = image_folder_files({"cat": course_files / "cat.70.jpg", "dog": course_files / "dog.128.jpg"}, per_class=2)
    files = {rel.replace("test/", "valid/"): data for rel, data in files.items()}  # flower_data's layout
    (tmp_path / "zip").mkdir()
    write_zip(tmp_path / "zip" / "flower_data.zip", files, root="flower_data/")
    splits = parse_image_folder_zip(tmp_path / "zip", 24)
    assert splits["test"].inputs.shape == (4, 3, 24, 24) and splits["train"].classes == ("cat", "dog")
    broken = dict(files)
    broken["train/dog/dog.1.jpg"] = files["train/dog/dog.1.jpg"][:300]  # truncated JPEG
    for rel, data in broken.items():
        (tmp_path / "dir" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "dir" / rel).write_bytes(data)
    with pytest.raises(DataError, match=r"train/dog/dog.1.jpg: not a readable image"):
        parse_image_folder_dir(tmp_path / "dir", 24)
