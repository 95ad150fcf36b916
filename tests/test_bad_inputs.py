"""Bad input, for real: every format the pipeline reads, damaged in each way a real file goes
wrong (bench/faults_inputs.py writes them), gives one clear line; and the stages that read a
damaged file exit 2 with that line and write nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from bench.faults_inputs import CASES, cut_half, run_case, zero_bytes
from pipeline.core.errors import DataError, TrainingError
from pipeline.core.io import load_torch, save_torch, verify_zip
from pipeline.data.sources import facts, read_source
from pipeline.weights.checkpoint import load_checkpoint
from tests.conftest import ROOT, make_idx_dataset, small_train_params
from tests.helpers.stages import one_error_line, run_stage

STORE = ("train", "val", "test")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_bad_input_is_one_error_line(case, tmp_path):
    row = run_case(case, tmp_path / "case")
    assert row["error"] == "DataError" and row["clear"], row
    assert str(tmp_path) in row["message"]  # names the file


def stage(module: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return run_stage(module, *args, params=ROOT / "params.yaml", cwd=cwd)


@pytest.fixture
def store_copy(digits_store, tmp_path) -> Path:
    """The real digits store laid out as the pipeline does (data/processed/digits/) in a folder
    whose dvc.lock records that normalize@digits wrote it, plus the augmentation policy."""
    folder = tmp_path / "data" / "processed" / "digits"
    folder.mkdir(parents=True)
    for name in (*STORE, "stats"):
        shutil.copy(digits_store[name], folder / Path(digits_store[name]).name)
    (tmp_path / "policy.json").write_text(
        json.dumps({"hflip": 0.0, "rotation_deg": 10.0, "scale": [0.95, 1.05], "seed": 0, "translate": 0.1})
    )
    outs = [{"path": f"data/processed/digits/{s}.pt"} for s in STORE]
    (tmp_path / "dvc.lock").write_text(json.dumps({"schema": "2.0", "stages": {"normalize@digits": {"outs": outs}}}))
    return folder


def test_zeroed_block_in_the_training_split_stops_training(store_copy, tmp_path):
    zero_bytes(store_copy / "train.pt")
    proc = stage(
        "train",
        "mlp",
        "--train",
        "data/processed/digits/train.pt",
        "--val",
        "data/processed/digits/val.pt",
        "--stats",
        "data/processed/digits/stats.json",
        "--policy",
        "policy.json",
        "--checkpoint",
        "out/model.pt",
        "--loss-curve",
        "out/loss.csv",
        "--accuracy-curve",
        "out/acc.csv",
        cwd=tmp_path,
    )
    assert one_error_line(proc).endswith(
        "data/processed/digits/train.pt: corrupt (CRC mismatch in archive/data/0); "
        "rerun its normalize stage (dvc repro -f -s normalize@digits)"
    )
    assert not (tmp_path / "out").exists()


def evaluate_args(checkpoint: Path, store: Path, out: Path) -> list[str]:
    return [
        "mlp",
        "--checkpoint",
        str(checkpoint),
        "--val",
        str(store / "val.pt"),
        "--test",
        str(store / "test.pt"),
        "--metrics",
        str(out / "m.json"),
        "--per-class",
        str(out / "pc.json"),
        "--confusion",
        str(out / "c.csv"),
        "--confusion-png",
        str(out / "c.png"),
    ]


def test_garbled_checkpoint_fails_evaluation_and_writes_nothing(trained_mlp, store_copy, tmp_path):
    bad = tmp_path / "model.pt"
    data = bytearray(trained_mlp.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 2000] = bytes(range(256)) * 7 + bytes(208)  # garbage in the weights
    bad.write_bytes(bytes(data))
    proc = stage("evaluate", *evaluate_args(bad, store_copy, tmp_path / "out"))
    assert f"{bad}: corrupt (CRC mismatch in archive/data/" in one_error_line(proc)
    assert not (tmp_path / "out").exists()


def test_non_finite_outputs_fail_evaluation_and_write_nothing(trained_mlp, store_copy, tmp_path):
    ckpt = load_torch(trained_mlp)
    ckpt["model_state"] = {k: v * 1e30 if v.is_floating_point() else v for k, v in ckpt["model_state"].items()}
    save_torch(ckpt, tmp_path / "huge.pt")  # finite weights whose logits overflow
    proc = stage("evaluate", *evaluate_args(tmp_path / "huge.pt", store_copy, tmp_path / "out"))
    assert "huge.pt: non-finite loss nan on the val split" in one_error_line(proc)
    assert not (tmp_path / "out").exists()


def test_checkpoint_with_nan_weights_is_refused_on_load(trained_mlp, tmp_path):
    ckpt = load_torch(trained_mlp)
    ckpt["model_state"]["body.1.weight"][0, 0] = float("nan")
    save_torch(ckpt, tmp_path / "nan.pt")
    with pytest.raises(DataError, match=r"nan.pt: weights body.1.weight hold NaN or infinite values"):
        load_checkpoint(tmp_path / "nan.pt")


def test_diverging_training_stops_with_one_line(digits_store, tmp_path):
    from pipeline.data.augment import Policy
    from tests.conftest import train_image

    with pytest.raises(
        TrainingError,
        match=r"^m: the training loss became nan at epoch 1 \(training diverged\); "
        r"lower train.m.lr$",
    ):
        train_image(
            "m",
            small_train_params("mlp", lr=1e12, epochs=3),
            digits_store,
            Policy(0.0, 0.0, (1.0, 1.0), 0.0, 0),
            tmp_path,
        )
    assert not (tmp_path / "model.pt").exists()


def normalize(name: str, raw: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    src = read_source(ROOT / "datasets" / name, name)
    (tmp_path / "facts.json").write_text(json.dumps(asdict(facts(name, src))))
    out = tmp_path / "out"
    return stage(
        "normalize",
        name,
        "--raw",
        str(raw),
        "--facts",
        str(tmp_path / "facts.json"),
        *[a for s in STORE for a in (f"--{s}", str(out / f"{s}.pt"))],
        "--stats",
        str(out / "stats.json"),
    )


def test_truncated_digits_gzip_fails_normalize_with_one_line(tmp_path):
    from tests.conftest import fetch

    raw = tmp_path / "raw" / "digits"
    fetch("digits", raw)
    cut_half(raw / "digits.csv.gz")
    line = one_error_line(normalize("digits", raw, tmp_path))
    assert line.endswith(
        f"{raw}/digits.csv.gz: not a readable gzipped digits CSV (Compressed file ended before the "
        "end-of-stream marker was reached); rerun its download stage (dvc repro -f -s download@digits); "
        "if that fails again, check the mirror"
    )
    assert not (tmp_path / "out").exists()


def test_truncated_mnist_gzip_fails_normalize_with_one_line(tmp_path):
    raw = tmp_path / "raw" / "mnist"
    make_idx_dataset(raw, n_train=300, n_test=100)
    cut_half(raw / "train-images-idx3-ubyte.gz")
    line = one_error_line(normalize("mnist", raw, tmp_path))
    assert f"{raw}/train-images-idx3-ubyte.gz: not a readable gzip file (Compressed file ended" in line
    assert line.endswith("(dvc repro -f -s download@mnist); if that fails again, check the mirror")
    assert not (tmp_path / "out").exists()


def test_verify_zip_passes_every_file_the_pipeline_writes(digits_store, trained_mlp):
    for path in (*[digits_store[s] for s in STORE], trained_mlp):
        verify_zip(path, "normalize")


def test_a_file_saved_without_crcs_would_fail_loudly_not_silently(tmp_path):
    """The CRC check relies on torch writing CRC-32s (its default); were it switched off, every
    file would be reported corrupt rather than loaded unchecked."""
    from torch.serialization import get_crc32_options, set_crc32_options

    assert get_crc32_options() is True
    set_crc32_options(False)
    try:
        save_torch({"x": torch.arange(1000)}, tmp_path / "x.pt")
    finally:
        set_crc32_options(True)
    with pytest.raises(DataError, match="x.pt: corrupt"):
        verify_zip(tmp_path / "x.pt", "normalize")


def test_a_broken_link_in_your_own_folder_is_named_and_nothing_is_left(tmp_path, course_files):
    from tests.conftest import fetch

    own = tmp_path / "datasets" / "mine"
    for split in ("train", "test"):
        (own / split / "cat").mkdir(parents=True)
        shutil.copy(course_files / "cat.70.jpg", own / split / "cat" / "cat.jpg")
    (own / "train" / "cat" / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    with pytest.raises(
        DataError,
        match=r"train/cat/gone.jpg: could not copy it from your dataset's folder "
        r"\(\[Errno 2\] No such file or directory.*\); fix or remove it",
    ):
        fetch("mine", tmp_path / "raw", folder=own, source="image_folder")
    assert not (tmp_path / "raw").exists() and not (tmp_path / "raw.partial").exists()
