"""params.yaml values that used to give a traceback, a wrong result or a cascade (issue 15): each
now stops `make check`, or the stage that reads it before any work, with one line naming the key."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from pipeline.core.errors import ConfigError
from pipeline.run import check
from pipeline.run.dvc import resolve_stages
from tests.conftest import ROOT
from tests.helpers.stages import one_error_line, run_stage
from tests.test_check import DATASETS, check_fails


def write_project(tmp_path, params: dict, dvc_yaml: bool = True):
    """params.yaml in a folder of its own, beside the real datasets/ (and dvc.yaml)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
    (tmp_path / "datasets").symlink_to(DATASETS)
    if dvc_yaml:
        shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    return tmp_path / "params.yaml"


def make_check(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.run.check", str(path)], cwd=ROOT, capture_output=True, text=True
    )


def one_clear_error(proc: subprocess.CompletedProcess, line: str) -> None:
    """Exit 2, one error line (a stage's, or make check's heading above its list of problems), no
    traceback, and `line` among the problems."""
    one_error_line(proc)
    assert line in proc.stderr, proc.stderr


def train_mlp(tmp_path, params_path) -> subprocess.CompletedProcess:
    """Stage train@mlp's real command, its inputs missing: only its params validation can run."""
    out = tmp_path / "out"
    return run_stage(
        "train",
        "mlp",
        "--train",
        out / "train.pt",
        "--val",
        out / "val.pt",
        "--stats",
        out / "s.json",
        "--policy",
        out / "policy.json",
        "--checkpoint",
        out / "model.pt",
        "--loss-curve",
        out / "loss.csv",
        "--accuracy-curve",
        out / "acc.csv",
        "--params",
        params_path,
    )


@pytest.mark.parametrize(
    "section, entry, key",
    [
        ("train", "mlp", "seed"),
        ("normalize", "digits", "seed"),
        ("sample", "charrnn", "seed"),
        ("augment", "digits", "seed"),
        ("style", "style", "seed"),
    ],
)
def test_a_negative_seed_names_its_key(real_params, section, entry, key):
    real_params[section][entry][key] = -1
    check_fails(real_params, f"{section}.{entry}.{key}: Input should be greater than or equal to 0 (got -1)")
    real_params[section][entry][key] = 2**32  # numpy's generators take [0, 2**32)
    check_fails(real_params, f"{section}.{entry}.{key}: Input should be less than 4294967296")


def test_a_negative_seed_stops_make_check_and_the_stage(real_params, tmp_path):
    real_params["train"]["mlp"]["seed"] = -1
    path = write_project(tmp_path / "project", real_params)
    line = "train.mlp.seed: Input should be greater than or equal to 0 (got -1)"
    one_clear_error(make_check(path), line)
    one_clear_error(train_mlp(tmp_path, path), line)  # was: a numpy traceback
    assert not (tmp_path / "out").exists()


def test_an_absurd_model_size_stops_make_check_and_the_stage(real_params, tmp_path):
    real_params["train"]["mlp"]["hidden"] = [1000000000, 512]
    path = write_project(tmp_path / "project", real_params)
    line = "train.mlp.hidden: the model would have at least 514,000,001,538 parameters"
    one_clear_error(make_check(path), line)
    one_clear_error(train_mlp(tmp_path, path), line)  # was: 30 lines ending in "can't allocate memory"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "path, change, key",
    [
        (("train", "cnn"), {"channels": [200000, 200000]}, "train.cnn.channels"),
        (("train", "cnn"), {"fc": 10**9}, "train.cnn.fc"),
        (("gates", "models", "mlp"), {"hidden": [100000, 100000]}, "gates.models.mlp.hidden"),
        (("charrnn", "charrnn"), {"hidden": 100000, "layers": 2}, "charrnn.charrnn.hidden"),
        (("sentiment", "sentiment"), {"hidden": 30000}, "sentiment.sentiment.hidden"),
    ],
)
def test_every_sized_model_is_bounded_from_params_alone(real_params, path, change, key):
    entry = real_params
    for name in path:
        entry = entry[name]
    entry |= change
    check_fails(real_params, f"{key}: the model would have at least", "more than the limit of 2,147,483,648")


def test_a_model_removed_from_params_but_named_in_dvc_yaml(real_params, tmp_path):
    del real_params["train"]["mlp"]
    path = write_project(tmp_path / "mlp", real_params)
    one_clear_error(
        make_check(path),
        "train.mlp.dataset: missing, and dvc.yaml uses ${train.mlp.dataset} (in stages.download.foreach",
    )  # was: "ok", then DVC failed on ${...}
    with pytest.raises(ConfigError, match="dvc.yaml"):  # the same, when validate is given a dvc.yaml
        check.validate(real_params, datasets=DATASETS, dvc_yaml=tmp_path / "mlp" / "dvc.yaml")
    check.validate(real_params, datasets=DATASETS)  # without dvc.yaml, the params alone are fine


def test_a_whole_section_removed_but_named_in_dvc_yaml(real_params, tmp_path):
    del real_params["sentiment"]
    proc = make_check(write_project(tmp_path, real_params))
    one_clear_error(proc, "sentiment: missing, and dvc.yaml uses ${sentiment} (in stages.evaluate_sentiment.foreach")
    assert "stages.train_sentiment.foreach and 1 more); add it back" in proc.stderr
    assert "sentiment.sentiment.dataset: missing, and dvc.yaml uses ${sentiment.sentiment.dataset}" in proc.stderr


def test_a_key_of_an_entry_used_by_dvc_yaml_names_the_entry_not_item(real_params, tmp_path):
    del real_params["train"]["cnn"]["arch"]
    with pytest.raises(ConfigError) as err:
        check.validate(real_params, datasets=DATASETS, dvc_yaml=ROOT / "dvc.yaml")
    assert "train.cnn.arch: missing, and dvc.yaml uses ${train.cnn.arch} (in stages.train@cnn.deps" in str(err.value)
    assert "${item." not in str(err.value)


def test_the_real_dvc_yaml_resolves_against_the_real_params(real_params):
    assert "train@mlp" in resolve_stages(real_params, ROOT / "dvc.yaml", found := [])
    assert found == []


def test_a_bad_style_entry_still_uses_its_backbone(real_params):
    real_params["style"]["style"]["content_layer"] = "conv9_9"
    message = check_fails(real_params, "style.style.content_layer: Input should be")
    assert "not used by any transfer or style model" not in message  # was: a second, wrong, problem
    assert len(message.splitlines()) == 2


def test_a_bad_transfer_entry_still_uses_its_backbone(real_params):
    real_params["backbones"]["vgg19_random"] = {"arch": "resnet18", "weights": "random"}
    real_params["transfer"]["transfer"] |= {"backbone": "vgg19_random", "lr": -1}
    message = check_fails(real_params, "transfer.transfer.lr:")
    assert "backbones.vgg19_random: not used" not in message


def test_a_near_miss_in_a_label_map_is_a_typo(real_params):
    real_params["transfer"]["transfer"]["label_map"]["0"] = "eveb"
    check_fails(
        real_params,
        "transfer.transfer.label_map: '0' maps to 'eveb', which no other class maps to, beside "
        "'even' (4 classes); did you mean 'even'?",
    )


@pytest.mark.parametrize(
    "label_map",
    [
        {str(d): f"digit{d}" for d in range(10)},  # a renaming: every class alone, none a typo
        {"0": "zero", **{str(d): ("even" if d % 2 == 0 else "odd") for d in range(1, 10)}},  # alone, but no near twin
    ],
)
def test_label_maps_that_are_meant_are_accepted(real_params, label_map):
    real_params["transfer"]["transfer"]["label_map"] = label_map
    check.validate(real_params, datasets=DATASETS)


def test_a_label_map_typo_stops_the_transfer_stage_before_training(real_params, tmp_path):
    real_params["transfer"]["transfer"]["label_map"]["0"] = "eveb"
    path = write_project(tmp_path / "project", real_params, dvc_yaml=False)
    out = tmp_path / "out"
    proc = run_stage(
        "train_transfer",
        "transfer",
        "--backbone",
        out / "b.pt",
        "--train",
        out / "train.pt",
        "--val",
        out / "val.pt",
        "--stats",
        out / "s.json",
        "--policy",
        out / "p.json",
        "--checkpoint",
        out / "model.pt",
        "--loss-curve",
        out / "l.csv",
        "--accuracy-curve",
        out / "a.csv",
        "--params",
        path,
    )
    one_clear_error(proc, "did you mean 'even'?")  # was: a 3-class model, exit 0
    assert not out.exists()


def vocab_project(tmp_path, real_params, chars: str):
    """A project whose pydoc corpus is encoded (its vocab.json where dvc.yaml says), over `chars`."""
    path = write_project(tmp_path, real_params)
    vocab = tmp_path / "data" / "processed" / real_params["charrnn"]["charrnn"]["corpus"] / "vocab.json"
    vocab.parent.mkdir(parents=True)
    vocab.write_text(json.dumps({"chars": sorted(chars)}))
    return path


def test_a_prime_the_encoded_corpus_cannot_spell_stops_make_check(real_params, tmp_path):
    real_params["sample"]["charrnn"]["prime"] = "Über "
    one_clear_error(
        make_check(vocab_project(tmp_path / "a", real_params, " Uber")),
        "sample.charrnn.prime: the prime 'Über ' has characters the corpus lacks: 'Ü'",
    )
    assert make_check(vocab_project(tmp_path / "b", real_params, " Übera")).returncode == 0
    # Not encoded yet: nothing to check against (evaluate_charrnn checks it first thing).
    assert make_check(write_project(tmp_path / "c", real_params)).returncode == 0


def test_a_fraction_too_small_says_raise_it_with_the_numbers(real_params, tmp_path):
    from dataclasses import asdict

    from tests.conftest import fetch

    raw = tmp_path / "raw"
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(asdict(fetch("digits", raw))))
    real_params["normalize"]["digits"]["val_fraction"] = 0.001
    path = write_project(tmp_path / "project", real_params, dvc_yaml=False)
    out = tmp_path / "out"
    proc = run_stage(
        "normalize",
        "digits",
        "--raw",
        raw,
        "--facts",
        facts,
        "--train",
        out / "train.pt",
        "--val",
        out / "val.pt",
        "--test",
        out / "test.pt",
        "--stats",
        out / "stats.json",
        "--params",
        path,
    )
    # was: "the val split is empty; lower the fractions in normalize"
    one_clear_error(
        proc,
        "normalize.digits.val_fraction: 0.001 holds out 0 of the 1438 samples it splits (it rounds "
        "per class, and the largest class has 146): the val split is empty; raise it to at least "
        "0.0068",
    )
    assert not out.exists()


def test_a_prime_the_corpus_cannot_spell_stops_evaluate_charrnn_first(real_params, tmp_path):
    """The real stage, on a (tiny, untrained) checkpoint over a vocabulary without 'Ü': one line
    naming sample.charrnn.prime, before any evaluation, and the old outputs untouched."""
    import torch

    from pipeline.core.io import save_torch
    from pipeline.models import build_model
    from pipeline.schema.charrnn import Params
    from pipeline.weights.checkpoint import save_checkpoint

    chars = sorted(" Uabcdefghijklmnopqrstuvwxyz")
    p = Params.model_validate(real_params["charrnn"]["charrnn"] | {"hidden": 8, "layers": 1})
    save_checkpoint(
        tmp_path / "model.pt",
        model=build_model("charrnn", p, {"chars": chars}),
        optimizer=None,
        epoch=1,
        metrics={},
        meta={
            "model": "charrnn",
            "family": "charrnn",
            "arch": "charrnn",
            "params": p.model_dump(),
            "spec": {"chars": chars},
        },
    )
    save_torch(
        {"train": torch.zeros(100, dtype=torch.int32), "val": torch.zeros(100, dtype=torch.int32)},
        tmp_path / "tokens.pt",
    )
    real_params["sample"]["charrnn"]["prime"] = "Über "
    path = write_project(tmp_path / "project", real_params, dvc_yaml=False)
    (tmp_path / "metrics.json").write_text("old")
    proc = run_stage(
        "evaluate_charrnn",
        "charrnn",
        "--checkpoint",
        tmp_path / "model.pt",
        "--tokens",
        tmp_path / "tokens.pt",
        "--metrics",
        tmp_path / "metrics.json",
        "--samples",
        tmp_path / "samples.txt",
        "--params",
        path,
    )
    one_clear_error(proc, "sample.charrnn.prime: the prime 'Über ' has characters the corpus lacks: 'Ü'")
    assert (tmp_path / "metrics.json").read_text() == "old" and not (tmp_path / "samples.txt").exists()
