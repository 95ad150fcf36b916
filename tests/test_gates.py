"""Perceptrons as logical operators on the default params: one line learns AND, OR and NOT but
not XOR; one hidden layer learns XOR. The gates' data, their params' validation, and the figure."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
import yaml

from pipeline.core.errors import ConfigError
from pipeline.core.io import read_json
from pipeline.core.params import read_yaml
from pipeline.schema.gates import problems, read
from pipeline.training.gates import GATES, make_gate, run_gates
from tests.conftest import ROOT

REAL = read_yaml(ROOT / "params.yaml")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Each default gates model through its stage's function: (metrics, PNG path) per model."""
    torch.set_num_threads(1)  # as the stage runs it (runtime.deterministic: auto on the CPU)
    out = tmp_path_factory.mktemp("gates")
    results = {}
    for name in REAL["gates"]["models"]:
        data, model = read(REAL, name)
        run_gates(name, model, data, out / f"{name}.json", out / f"{name}.png")
        results[name] = (read_json(out / f"{name}.json"), out / f"{name}.png")
    return results


def test_one_line_learns_and_or_not_but_not_xor(trained):
    metrics, _ = trained["perceptron"]
    for gate in ("AND", "OR", "NOT"):
        assert metrics[gate]["truth_table_accuracy"] == 1.0, (gate, metrics[gate])
        assert metrics[gate]["heldout_accuracy"] >= 0.9, (gate, metrics[gate])
    assert metrics["XOR"]["truth_table_accuracy"] <= 0.75  # a line gets 3 of the 4 rows at best
    assert metrics["XOR"]["heldout_accuracy"] < 1.0


def test_a_hidden_layer_learns_xor(trained):
    metrics, _ = trained["mlp"]
    assert metrics["XOR"]["truth_table_accuracy"] == 1.0 and metrics["XOR"]["heldout_accuracy"] == 1.0
    assert all(m["truth_table_accuracy"] == 1.0 for m in metrics.values())
    assert set(metrics) == set(GATES) and all(m["val_loss"] >= 0 for m in metrics.values())


def test_the_figure_is_written_and_identical_on_rerun(trained, tmp_path):
    _, png = trained["perceptron"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data, model = read(REAL, "perceptron")
    run_gates("perceptron", model, data, tmp_path / "m.json", tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes() == png.read_bytes()
    assert read_json(tmp_path / "m.json") == trained["perceptron"][0]


def test_each_gate_is_its_truth_table_plus_seeded_noisy_clouds():
    data, _ = read(REAL, "perceptron")
    for gate, (rows, outputs) in GATES.items():
        g = make_gate(gate, data)
        assert g.truth.inputs.tolist() == rows and g.truth.labels.tolist() == outputs
        assert torch.equal(g.train.inputs[: len(rows)], g.truth.inputs)  # the exact rows are trained on
        noisy = len(rows) * data.per_corner
        assert len(g.train) + len(g.val) == len(rows) + noisy
        assert len(g.val) == round(noisy * data.val_fraction)
        assert g.info.features == (["x"] if gate == "NOT" else ["x1", "x2"])
        assert torch.equal(make_gate(gate, data).val.inputs, g.val.inputs)  # seeded
    assert not torch.equal(make_gate("AND", data).val.inputs, make_gate("OR", data).val.inputs)


def _with(change: dict) -> dict:
    raw = copy.deepcopy(REAL)
    for path, value in change.items():
        *parents, key = path.split(".")
        node = raw
        for part in parents:
            node = node[part]
        node[key] = value
    return raw


@pytest.mark.parametrize(
    "change, message",
    [
        ({"gates.data.noise": -0.1}, "gates.data.noise: Input should be greater than 0"),
        ({"gates.data.val_fraction": 1.5}, "gates.data.val_fraction: Input should be less than 1"),
        ({"gates.models.mlp.dataset": "points"}, "gates.models.mlp.dataset: unknown key; a gates model trains on"),
        (
            {"gates.models.mlp.arch": "cnn"},
            "gates.models.mlp.arch: unknown model 'cnn'; registered models: logreg, perceptron, tabular_mlp",
        ),
        ({"gates.models.mlp.l1": -1.0}, "gates.models.mlp.l1: Input should be greater than or equal to 0"),
        ({"gates.models.mlp.restarts": 0}, "gates.models.mlp.restarts: Input should be greater than 0"),
        ({"gates.models.perceptron.l1": 0.1}, "gates.models.perceptron.l1: unknown key"),
        ({"gates.colour": "red"}, "gates.colour: unknown key; allowed keys: data, models"),
    ],
)
def test_bad_gates_params_are_named(change, message):
    raw = _with(change)
    assert any(p.startswith(message) for p in problems(raw)), problems(raw)
    name = "perceptron" if "perceptron" in next(iter(change)) else "mlp"
    with pytest.raises(ConfigError, match=message.split(";")[0]):
        read(raw, name)


def test_the_stage_names_a_bad_value(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(_with({"gates.models.mlp.hidden": []})))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stages.gates",
            "mlp",
            "--metrics",
            str(tmp_path / "m.json"),
            "--plot",
            str(tmp_path / "p.png"),
            "--params",
            str(tmp_path / "params.yaml"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "gates.models.mlp.hidden: List should have at least 1 item" in proc.stderr
    assert not (tmp_path / "m.json").exists()


def test_an_unknown_gates_model_lists_the_known_ones():
    with pytest.raises(
        ConfigError, match="gates.models.nope: no such entry in params.yaml; gates.models has: perceptron, mlp"
    ):
        read(REAL, "nope")
