"""params.yaml validation: every bad input names its key path and what is allowed."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from pipeline import config
from pipeline.config import ARCH_PARAMS, ConfigError
from tests.conftest import ROOT


def check_fails(params: dict, *expected: str) -> str:
    with pytest.raises(ConfigError) as err:
        config.validate(params)
    message = str(err.value)
    for text in expected:
        assert text in message, f"{text!r} not in:\n{message}"
    return message


def test_the_real_params_file_is_valid():
    params = config.load(ROOT / "params.yaml")
    assert set(params.train) >= {"mlp", "cnn"}
    assert params.train["mlp"].hidden == [512, 512] and params.train["mlp"].dropout == 0.2
    assert params.train["cnn"].channels == [16, 32, 64] and params.train["cnn"].fc == 500
    assert params.source_name("digits") == "sklearn_digits"


def test_unknown_key_names_its_path_and_the_allowed_keys(real_params):
    real_params["train"]["cnn"]["lrr"] = 0.1
    check_fails(real_params, "train.cnn.lrr: unknown key; allowed keys:", "lr", "momentum", "channels")


def test_wrong_type_names_the_key(real_params):
    real_params["train"]["mlp"]["batch_size"] = "32"
    check_fails(real_params, "train.mlp.batch_size:", "integer", "'32'")


def test_float_where_an_integer_is_needed_is_rejected(real_params):
    real_params["train"]["mlp"]["epochs"] = 2.5
    check_fails(real_params, "train.mlp.epochs:")


@pytest.mark.parametrize("key, value, text", [
    ("lr", -1, "greater than 0"),
    ("dropout", 1.5, "less than 1"),
    ("optimizer", "rmsprop", "'sgd', 'adam' or 'adamw'"),
    ("device", "tpu", "auto|cpu|cuda"),
    ("patience", 0, "greater than 0"),
])
def test_impossible_values_name_the_key_and_the_rule(real_params, key, value, text):
    real_params["train"]["cnn"][key] = value
    check_fails(real_params, f"train.cnn.{key}:", text)


def test_unknown_model_lists_the_registered_ones(real_params):
    real_params["train"]["cnn"]["arch"] = "resnet9000"
    message = check_fails(real_params, "train.cnn.arch: unknown model 'resnet9000'")
    for arch in ARCH_PARAMS:
        assert arch in message


def test_model_bound_to_an_undeclared_dataset(real_params):
    real_params["train"]["mlp"]["dataset"] = "imagenet"
    check_fails(real_params, "train.mlp.dataset: 'imagenet' is not a declared dataset", "digits", "mnist")


def test_unknown_dataset_source(real_params):
    real_params["download"]["svhn"] = {"mirrors": ["https://example.org/"]}
    real_params["normalize"]["svhn"] = {"val_fraction": 0.1, "seed": 0}
    check_fails(real_params, "download.svhn: unknown source 'svhn'; known sources:", "cifar10")


def test_every_declared_dataset_needs_every_data_section(real_params):
    del real_params["augment"]["mnist"]
    real_params["normalize"]["extra"] = {"val_fraction": 0.1, "seed": 0}
    check_fails(real_params, "augment.mnist: missing", "normalize.extra: dataset 'extra' is not declared")


def test_flipping_digits_is_refused(real_params):
    real_params["augment"]["digits"]["hflip"] = 0.5
    check_fails(real_params, "augment.digits.hflip: must be 0")


def test_official_test_split_rules(real_params):
    real_params["normalize"]["mnist"]["test_fraction"] = 0.2
    del real_params["normalize"]["digits"]["test_fraction"]
    check_fails(real_params, "normalize.mnist.test_fraction: 'mnist' has an official test split",
                "normalize.digits.test_fraction: required")


def test_remote_source_needs_a_mirror_or_a_local_folder(real_params):
    real_params["download"]["cifar10"]["mirrors"] = []
    check_fails(real_params, "download.cifar10.mirrors: give at least one mirror URL")


def test_mirror_must_be_a_url_and_checksums_must_be_md5(real_params):
    real_params["download"]["mnist"]["mirrors"] = ["ftp.example.org/mnist"]
    real_params["download"]["mnist"]["checksums"] = {"train-images-idx3-ubyte.gz": "abc"}
    check_fails(real_params, "download.mnist.mirrors:", "download.mnist.checksums:")


def test_skipping_a_checksum_is_only_for_local_folders(real_params):
    real_params["download"]["mnist"]["checksums"] = {"train-images-idx3-ubyte.gz": None}
    check_fails(real_params, "download.mnist.checksums.train-images-idx3-ubyte.gz: null is only allowed")
    real_params["download"]["mnist"]["local_dir"] = "/shared/mnist"
    config.validate(real_params)


def test_momentum_only_with_sgd(real_params):
    real_params["train"]["mlp"]["optimizer"] = "adam"
    check_fails(real_params, "train.mlp.momentum: only sgd uses momentum")


def test_missing_keys_and_sections(real_params):
    del real_params["train"]["cnn"]["seed"]
    del real_params["evaluate"]
    check_fails(real_params, "train.cnn.seed: required key is missing", "evaluate: required section is missing")


def test_all_problems_are_reported_at_once(real_params):
    real_params["train"]["cnn"]["lr"] = -1
    real_params["train"]["mlp"]["epochs"] = 0
    real_params["bogus"] = {}
    message = check_fails(real_params, "train.cnn.lr", "train.mlp.epochs", "bogus: unknown section")
    assert message.count("\n  - ") == 3


def test_yaml_1_2_floats_and_duplicate_keys(tmp_path):
    text = (ROOT / "params.yaml").read_text()
    path = tmp_path / "params.yaml"
    path.write_text(text.replace("lr: 0.01", "lr: 1e-2", 1))
    assert config.load(path).train["mlp"].lr == 0.01  # PyYAML alone would read the string '1e-2'
    path.write_text(text.replace("    lr: 0.01\n", "    lr: 0.01\n    lr: 0.5\n", 1))
    with pytest.raises(ConfigError, match="duplicate key 'lr' at line"):
        config.load(path)


def test_cli_exits_2_and_names_the_key(tmp_path):
    params = config.read_yaml(ROOT / "params.yaml")
    params["train"]["cnn"]["lr"] = -0.5
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    bad = subprocess.run([sys.executable, "-m", "pipeline.config", str(path)], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2
    assert "train.cnn.lr: Input should be greater than 0 (got -0.5)" in bad.stderr
    good = subprocess.run([sys.executable, "-m", "pipeline.config", str(ROOT / "params.yaml")], cwd=ROOT,
                          capture_output=True, text=True)
    assert good.returncode == 0 and "ok" in good.stdout


# --- the model families and their data -------------------------------------------------------


def test_a_model_needs_data_of_its_kind(real_params):
    real_params["tabular"]["logreg"]["dataset"] = "digits"
    real_params["charrnn"]["charrnn"]["corpus"] = "breast_cancer"
    check_fails(real_params, "tabular.logreg.dataset: 'digits' holds image data; tabular models need a tabular",
                "charrnn.charrnn.corpus: 'breast_cancer' holds tabular data; charrnn models need a corpus")


def test_preparation_sections_follow_the_dataset_kind(real_params):
    real_params["augment"]["breast_cancer"] = dict(real_params["augment"]["digits"])
    del real_params["encode_text"]["pydoc"]
    check_fails(real_params, "augment.breast_cancer: 'breast_cancer' is a tabular dataset; augment is for image",
                "encode_text.pydoc: missing; every corpus dataset declared under download needs one")


def test_names_are_unique_across_families(real_params):
    real_params["tabular"]["cnn"] = dict(real_params["tabular"]["logreg"])
    check_fails(real_params, "tabular.cnn: the name is taken by train.cnn")


def test_backbones_must_exist_be_used_and_fit(real_params):
    real_params["transfer"]["transfer"]["backbone"] = "resnet"
    real_params["backbones"]["spare"] = {"arch": "resnet18", "weights": "imagenet"}
    real_params["style"]["style"]["vgg"] = "spare"
    check_fails(real_params, "transfer.transfer.backbone: 'resnet' is neither a model of train",
                "style.style.vgg: 'spare' must be an entry of backbones with arch vgg19",
                "backbones.vgg19_random: not used by any transfer or style model")


def test_backbone_hash_and_random_weights(real_params):
    real_params["backbones"]["vgg19_random"].update(sha256="abc")
    check_fails(real_params, "backbones.vgg19_random.sha256: Value error, sha256 must be 64 lowercase hex digits")
    real_params["backbones"]["vgg19_random"].update(sha256="a" * 64)
    check_fails(real_params, "backbones.vgg19_random: random weights take no url, local_file or sha256")


def test_generated_sources_need_generate_and_only_they(real_params):
    del real_params["download"]["synthetic_reviews"]["generate"]
    real_params["download"]["digits"]["generate"] = {"samples": 5, "seed": 0}
    check_fails(real_params, "download.synthetic_reviews.generate: required for a generated source",
                "download.digits.generate: only for generated sources")


def test_remote_files_without_a_published_checksum_need_one(real_params):
    real_params["download"]["cat_dog"] = {"mirrors": ["https://s3.amazonaws.com/content.udacity-data.com/nd089/"]}
    real_params["normalize"]["cat_dog"] = {"val_fraction": 0.2, "seed": 0, "size": 224}
    real_params["augment"]["cat_dog"] = dict(real_params["augment"]["cifar10"])
    check_fails(real_params, "download.cat_dog.checksums.Cat_Dog_data.zip: required; 'cat_dog' publishes no checksum")
    real_params["download"]["cat_dog"]["checksums"] = {"Cat_Dog_data.zip": "0" * 32}
    config.validate(real_params)


def test_image_folders_need_a_size_and_others_refuse_one(real_params):
    real_params["download"]["pets"] = {"source": "image_folder", "local_dir": "/data/pets"}
    real_params["normalize"]["pets"] = {"val_fraction": 0.2, "seed": 0}
    real_params["augment"]["pets"] = dict(real_params["augment"]["cifar10"])
    real_params["normalize"]["digits"]["size"] = 32
    check_fails(real_params, "normalize.pets.size: required for an image folder",
                "normalize.digits.size: only for image folders")


def test_style_layers_are_the_courses(real_params):
    real_params["style"]["style"]["style_layers"] = {"conv9_9": 1.0}
    check_fails(real_params, "style.style.style_layers: Value error, style layers must be a non-empty subset of conv1_1")


@pytest.mark.parametrize("launcher, expected", [
    ("torchrun --nproc-per-node 2", "must be 'python -m' (one process) or 'torchrun <options> -m'"),
    ("mpirun -np 2 python -m", "must be 'python -m'"),
    ("torchrun --nproc-per-node 2 --no-python -m", "unknown torchrun option(s) --no-python"),
])
def test_a_launcher_other_than_python_or_torchrun_is_refused(real_params, launcher, expected):
    real_params["distributed"]["launcher"] = launcher
    check_fails(real_params, "distributed.launcher:", expected)


@pytest.mark.parametrize("launcher", [
    "python -m", "torchrun --standalone --nproc-per-node 2 -m",
    "torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-id course --rdzv-endpoint host0:29400 -m"])
def test_the_documented_launchers_are_accepted(real_params, launcher):
    real_params["distributed"]["launcher"] = launcher
    assert config.validate(real_params).distributed.launcher == launcher
