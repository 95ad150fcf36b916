"""params.yaml validation: every bad input names its key path and what is allowed, whether `make
check` finds it (the whole file, cross-references included) or the stage that reads the value."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml

from pipeline.core import params as core_params
from pipeline.core.errors import ConfigError
from pipeline.core.params import MODELS
from pipeline.run import check
from tests.conftest import ROOT

DATASETS = ROOT / "datasets"


def check_fails(params: dict, *expected: str) -> str:
    with pytest.raises(ConfigError) as err:
        check.validate(params, datasets=DATASETS)
    message = str(err.value)
    for text in expected:
        assert text in message, f"{text!r} not in:\n{message}"
    return message


def test_the_real_params_file_is_valid():
    params = check.load(ROOT / "params.yaml")
    assert set(params["train"]) >= {"mlp", "cnn"}
    assert params["train"]["mlp"].hidden == [512, 512] and params["train"]["mlp"].dropout == 0.2
    assert params["train"]["cnn"].channels == [16, 32, 64] and params["train"]["cnn"].fc == 500
    assert params["download"]["digits"].source is None  # a known dataset: its entry is datasets/digits/


def test_unknown_key_names_its_path_and_the_allowed_keys(real_params):
    real_params["train"]["cnn"]["lrr"] = 0.1
    check_fails(real_params, "train.cnn.lrr: unknown key; allowed keys:", "lr", "momentum", "channels")


def test_wrong_type_names_the_key(real_params):
    real_params["train"]["mlp"]["batch_size"] = "32"
    check_fails(real_params, "train.mlp.batch_size:", "integer", "'32'")


def test_float_where_an_integer_is_needed_is_rejected(real_params):
    real_params["train"]["mlp"]["epochs"] = 2.5
    check_fails(real_params, "train.mlp.epochs:")


@pytest.mark.parametrize(
    "key, value, text",
    [
        ("lr", -1, "greater than 0"),
        ("dropout", 1.5, "less than 1"),
        ("optimizer", "rmsprop", "'sgd', 'adam' or 'adamw'"),
        ("device", "tpu", "auto|cpu|cuda"),
        ("patience", 0, "greater than 0"),
    ],
)
def test_impossible_values_name_the_key_and_the_rule(real_params, key, value, text):
    real_params["train"]["cnn"][key] = value
    check_fails(real_params, f"train.cnn.{key}:", text)


def test_unknown_model_lists_the_registered_ones(real_params):
    real_params["train"]["cnn"]["arch"] = "resnet9000"
    message = check_fails(real_params, "train.cnn.arch: unknown model 'resnet9000'; registered models: cnn, mlp")
    assert "logreg" not in message  # a tabular architecture is not a model of train
    assert {p.stem for p in MODELS.glob("*.py")} >= {"cnn", "mlp"}


def test_model_bound_to_an_undeclared_dataset(real_params):
    real_params["train"]["mlp"]["dataset"] = "imagenet"
    check_fails(real_params, "train.mlp.dataset: 'imagenet' is not a declared dataset", "digits", "mnist")


def test_unknown_dataset(real_params):
    real_params["download"]["svhn"] = {"mirrors": ["https://example.org/"]}
    real_params["normalize"]["svhn"] = {"val_fraction": 0.1, "seed": 0}
    check_fails(
        real_params,
        "download.svhn: no known dataset 'svhn'",
        "known datasets:",
        "cifar10",
        "for your own files set download.svhn.source to one of image_folder",
    )


def test_a_generic_source_is_only_for_your_own_files(real_params):
    real_params["download"]["digits"]["source"] = "sklearn_digits"
    real_params["download"]["mnist"]["source"] = "image_folder"
    check_fails(
        real_params,
        "download.digits.source: unknown generic source 'sklearn_digits'",
        "download.mnist.source: 'mnist' is a known dataset",
    )


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
    check_fails(
        real_params,
        "normalize.mnist.test_fraction: 'mnist' has an official test split",
        "normalize.digits.test_fraction: required",
    )


def test_remote_source_needs_a_mirror_or_a_local_folder(real_params):
    real_params["download"]["cifar10"]["mirrors"] = []
    check_fails(real_params, "download.cifar10.mirrors: give at least one mirror URL")


def test_mirror_must_be_a_url_and_checksums_must_be_md5(real_params):
    real_params["download"]["mnist"]["mirrors"] = ["ftp.example.org/mnist"]
    real_params["download"]["mnist"]["checksums"] = {"train-images-idx3-ubyte.gz": "abc"}
    check_fails(real_params, "download.mnist.mirrors:", "download.mnist.checksums:")


def test_a_checksum_cannot_be_skipped(real_params):
    """An unchecked file from outside the repository would be invisible to DVC: your own files
    belong in datasets/<name>/ instead, where DVC sees every edit."""
    real_params["download"]["mnist"]["checksums"] = {"train-images-idx3-ubyte.gz": None}
    real_params["download"]["mnist"]["local_dir"] = "/shared/mnist"
    check_fails(real_params, "download.mnist.checksums.train-images-idx3-ubyte.gz:")


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
    (tmp_path / "datasets").symlink_to(DATASETS)
    path.write_text(text.replace("lr: 0.01", "lr: 1e-2", 1))
    assert check.load(path)["train"]["mlp"].lr == 0.01  # PyYAML alone would read the string '1e-2'
    path.write_text(text.replace("    lr: 0.01\n", "    lr: 0.01\n    lr: 0.5\n", 1))
    with pytest.raises(ConfigError, match="duplicate key 'lr' at line"):
        check.load(path)


def test_cli_exits_2_and_names_the_key(tmp_path):
    params = core_params.read_yaml(ROOT / "params.yaml")
    params["train"]["cnn"]["lr"] = -0.5
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    (tmp_path / "datasets").symlink_to(DATASETS)
    bad = subprocess.run(
        [sys.executable, "-m", "pipeline.run.check", str(path)], cwd=ROOT, capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "train.cnn.lr: Input should be greater than 0 (got -0.5)" in bad.stderr
    good = subprocess.run(
        [sys.executable, "-m", "pipeline.run.check", str(ROOT / "params.yaml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0 and "ok" in good.stdout


# --- the model families and their data -------------------------------------------------------


def test_a_model_needs_data_of_its_kind(real_params):
    real_params["tabular"]["logreg"]["dataset"] = "digits"
    real_params["charrnn"]["charrnn"]["corpus"] = "breast_cancer"
    check_fails(
        real_params,
        "tabular.logreg.dataset: 'digits' holds image data; tabular models need a tabular",
        "charrnn.charrnn.corpus: 'breast_cancer' holds tabular data; charrnn models need a corpus",
    )


def test_preparation_sections_follow_the_dataset_kind(real_params):
    real_params["augment"]["breast_cancer"] = dict(real_params["augment"]["digits"])
    del real_params["encode_text"]["pydoc"]
    check_fails(
        real_params,
        "augment.breast_cancer: 'breast_cancer' is a tabular dataset; augment is for image",
        "encode_text.pydoc: missing; every corpus dataset declared under download needs one",
    )


def test_names_are_unique_across_families(real_params):
    real_params["tabular"]["cnn"] = dict(real_params["tabular"]["logreg"])
    check_fails(real_params, "tabular.cnn: the name is taken by train.cnn")


def test_backbones_must_exist_be_used_and_fit(real_params):
    real_params["transfer"]["transfer"]["backbone"] = "resnet"
    real_params["backbones"]["spare"] = {"arch": "resnet18", "weights": "imagenet"}
    real_params["style"]["style"]["vgg"] = "spare"
    check_fails(
        real_params,
        "transfer.transfer.backbone: 'resnet' is neither a model of train",
        "style.style.vgg: 'spare' must be an entry of backbones with arch vgg19",
        "backbones.vgg19_random: not used by any transfer or style model",
    )


def test_backbone_hash_and_random_weights(real_params):
    real_params["backbones"]["vgg19_random"].update(sha256="abc")
    check_fails(real_params, "backbones.vgg19_random.sha256: Value error, sha256 must be 64 lowercase hex digits")
    real_params["backbones"]["vgg19_random"].update(sha256="a" * 64)
    check_fails(real_params, "backbones.vgg19_random: random weights take no url, local_file or sha256")


def test_generated_sources_need_generate_and_only_they(real_params):
    del real_params["download"]["synthetic_reviews"]["generate"]
    real_params["download"]["digits"]["generate"] = {"samples": 5, "seed": 0}
    check_fails(
        real_params,
        "download.synthetic_reviews.generate: required for a generated dataset",
        "download.digits.generate: only for generated datasets",
    )


def test_remote_files_without_a_published_checksum_need_one(real_params):
    real_params["download"]["cat_dog"] = {"mirrors": ["https://s3.amazonaws.com/content.udacity-data.com/nd089/"]}
    real_params["normalize"]["cat_dog"] = {"val_fraction": 0.2, "seed": 0, "size": 224}
    real_params["augment"]["cat_dog"] = dict(real_params["augment"]["cifar10"])
    check_fails(real_params, "download.cat_dog.checksums.Cat_Dog_data.zip: required; 'cat_dog' publishes no checksum")
    real_params["download"]["cat_dog"]["checksums"] = {"Cat_Dog_data.zip": "0" * 32}
    check.validate(real_params, datasets=DATASETS)


def test_image_folders_need_a_size_and_others_refuse_one(real_params, tmp_path):
    datasets = tmp_path / "datasets"
    shutil.copytree(DATASETS, datasets)
    (datasets / "pets").mkdir()
    real_params["download"]["pets"] = {"source": "image_folder"}
    real_params["normalize"]["pets"] = {"val_fraction": 0.2, "seed": 0}
    real_params["augment"]["pets"] = dict(real_params["augment"]["cifar10"])
    real_params["normalize"]["digits"]["size"] = 32
    with pytest.raises(ConfigError) as err:
        check.validate(real_params, datasets=datasets)
    assert "normalize.pets.size: required for an image folder" in str(err.value)
    assert "normalize.digits.size: only for image folders" in str(err.value)


def test_your_own_dataset_needs_its_folder(real_params):
    real_params["download"]["pets"] = {"source": "image_folder"}
    check_fails(real_params, "download.pets: your own files go in", "datasets/pets/ (a folder, or a symbolic link")


def test_style_layers_are_the_courses(real_params):
    real_params["style"]["style"]["style_layers"] = {"conv9_9": 1.0}
    check_fails(
        real_params, "style.style.style_layers: Value error, style layers must be a non-empty subset of conv1_1"
    )


@pytest.mark.parametrize(
    "launcher, expected",
    [
        ("torchrun --nproc-per-node 2", "must be 'python -m' (one process) or 'torchrun <options> -m'"),
        ("mpirun -np 2 python -m", "must be 'python -m'"),
        ("torchrun --nproc-per-node 2 --no-python -m", "unknown torchrun option(s) --no-python"),
    ],
)
def test_a_launcher_other_than_python_or_torchrun_is_refused(real_params, launcher, expected):
    real_params["distributed"]["launcher"] = launcher
    check_fails(real_params, "distributed.launcher:", expected)


@pytest.mark.parametrize(
    "launcher",
    [
        "python -m",
        "torchrun --standalone --nproc-per-node 2 -m",
        "torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-id course --rdzv-endpoint host0:29400 -m",
    ],
)
def test_the_documented_launchers_are_accepted(real_params, launcher):
    real_params["distributed"]["launcher"] = launcher
    assert check.validate(real_params, datasets=DATASETS)["distributed"].launcher == launcher


# --- keys that moved, and sampling ------------------------------------------------------------


def test_moved_keys_say_where_they_went(real_params):
    real_params["runtime"].update(threads=4, amp="off")
    real_params["charrnn"]["charrnn"]["prime"] = "Anna"
    check_fails(
        real_params,
        "runtime.threads: removed",
        "OMP_NUM_THREADS",
        "runtime.amp: moved to accelerate.amp",
        "charrnn.charrnn.prime: moved to sample.<model>",
    )


def test_every_charrnn_model_has_its_sampling_settings(real_params):
    real_params["sample"]["other"] = dict(real_params["sample"]["charrnn"])
    del real_params["sample"]["charrnn"]
    check_fails(
        real_params,
        "sample.charrnn: missing; every charrnn model needs its sampling settings",
        "sample.other: not a charrnn model",
    )


# --- a stage validates what it reads, with the same message -------------------------------------


def test_a_stage_reads_its_entry_with_the_message_make_check_gives(real_params):
    real_params["train"]["cnn"]["lr"] = -1
    real_params["tabular"]["logreg"]["lr"] = -2  # not read by train@cnn: not its problem
    with pytest.raises(ConfigError) as err:
        core_params.entry(real_params, "train", "cnn")
    assert str(err.value) == "params.yaml is invalid:\n  - train.cnn.lr: Input should be greater than 0 (got -1)"
    assert str(err.value).splitlines()[1] in check_fails(real_params, "train.cnn.lr")
    assert core_params.entry(real_params, "train", "mlp").lr == 0.01  # the others stay usable


def test_a_stage_names_a_missing_entry_and_section(real_params):
    with pytest.raises(ConfigError, match="train.resnet: no such entry in params.yaml; train has: mlp, cnn"):
        core_params.entry(real_params, "train", "resnet")
    del real_params["runtime"]
    from pipeline.schema.runtime import RuntimeParams

    with pytest.raises(ConfigError, match="runtime: required section is missing"):
        core_params.section(real_params, "runtime", RuntimeParams)


@pytest.mark.parametrize("text, value", [(".inf", float("inf")), (".nan", float("nan")), ("-.inf", float("-inf"))])
def test_non_finite_floats_are_refused_by_make_check_and_by_the_stage(real_params, tmp_path, text, value):
    """`lr: .inf` or `.nan` (YAML's spellings) would train to NaN weights; both readers name the key."""
    path = tmp_path / "params.yaml"
    path.write_text((ROOT / "params.yaml").read_text().replace("    lr: 0.01\n", f"    lr: {text}\n", 1))
    read = core_params.read_yaml(path)  # as make check and the stages read it
    assert str(read["train"]["mlp"]["lr"]) == str(value)
    check_fails(read, f"train.mlp.lr: Input should be a finite number (got {value})")
    with pytest.raises(ConfigError, match=rf"train\.mlp\.lr: Input should be a finite number \(got {value}\)"):
        core_params.entry(read, "train", "mlp")
