"""io (atomic writes), runtime (devices, seeds) and cli (clean errors) on their own."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import yaml

from pipeline.core.errors import ConfigError
from pipeline.core.io import atomic_open, load_torch, save_torch, write_json
from pipeline.core.params import read_yaml
from pipeline.schema.runtime import RuntimeParams
from pipeline.training.engine.runtime import configure, resolve_device, seed_everything
from tests.conftest import ROOT


def test_atomic_open_leaves_the_old_file_on_error(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_json_is_deterministic_and_sorted(tmp_path):
    write_json(tmp_path / "a.json", {"b": 1, "a": [1.5, "x"]})
    write_json(tmp_path / "b.json", {"a": [1.5, "x"], "b": 1})
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert json.loads((tmp_path / "a.json").read_text()) == {"a": [1.5, "x"], "b": 1}


def test_torch_files_do_not_depend_on_their_name(tmp_path):
    obj = {"w": torch.arange(6.0).reshape(2, 3), "classes": ["a", "b"]}
    save_torch(obj, tmp_path / "one.pt")
    save_torch(obj, tmp_path / "other_name.pt")
    assert (tmp_path / "one.pt").read_bytes() == (tmp_path / "other_name.pt").read_bytes()
    assert torch.equal(load_torch(tmp_path / "one.pt")["w"], obj["w"])


def test_devices():
    assert resolve_device("cpu", "k").type == "cpu"
    assert resolve_device("auto", "k").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="train.x.device: 'cuda' asked for, but this machine has no CUDA GPU"):
            resolve_device("cuda", "train.x.device")


def test_configure_names_the_device_key_it_was_given(monkeypatch):
    """A stage passes the key of its device setting; the error names that key, not a bare `device`."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # a CPU-only machine, wherever this runs
    with pytest.raises(ConfigError, match=r"^train\.cnn\.device: 'cuda' asked for, but this machine has no CUDA GPU"):
        configure(RuntimeParams(deterministic="auto"), "cuda", "train.cnn.device")


def test_seed_everything_seeds_weight_init():
    seed_everything(3)
    a = torch.nn.Linear(4, 4).weight.clone()
    seed_everything(3)
    assert torch.equal(a, torch.nn.Linear(4, 4).weight)


def test_stage_errors_exit_2_with_the_message_only(tmp_path):
    params = read_yaml(ROOT / "params.yaml")
    params["download"]["digits"] = {"source": "nope"}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stages.download",
            "digits",
            "--dataset-dir",
            "datasets/digits",
            "--out",
            str(tmp_path / "raw"),
            "--facts",
            str(tmp_path / "digits.json"),
            "--params",
            str(tmp_path / "params.yaml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "download.digits.source: unknown generic source 'nope'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "raw").exists() and not (tmp_path / "digits.json").exists()
