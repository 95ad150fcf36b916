"""The C++ program (cpp/course_model.cpp), really built against the LibTorch inside the torch wheel:
it runs TorchScript exports with the eager model's outputs, the deployment check records the same
accuracy as Python's, and bad input gets one line and exit code 2."""

from __future__ import annotations

import json
import subprocess

import pytest
import torch

from pipeline.core.store import load_split
from pipeline.deployment import cpp
from pipeline.deployment.deploy import check_classifier
from pipeline.deployment.export import export_classifier
from pipeline.models import as_float, predict
from pipeline.weights.checkpoint import load_checkpoint

pytestmark = pytest.mark.slow  # a real C++ build (about half a minute)


@pytest.fixture(scope="module")
def exported(digits_store, trained_mlp, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    export_classifier(trained_mlp, load_split(digits_store["test"]).inputs, out, 1e-4, 128)
    return out


def test_the_program_gives_the_eager_outputs_in_any_batch_size(course_model, exported, trained_mlp, digits_store):
    x = as_float(load_split(digits_store["test"]).inputs)
    eager, _ = load_checkpoint(trained_mlp)
    expected = predict(eager, x, 1000)
    for batch in (1, 100, 1000):
        got = cpp.run_model(course_model, exported / "model.ts", x, batch)
        assert got.shape == expected.shape and got.dtype == torch.float32
        assert (got - expected).abs().max().item() <= 1e-5, batch


def test_the_deployment_check_records_the_python_accuracy(course_model, exported, trained_mlp, digits_store, tmp_path):
    test = load_split(digits_store["test"])
    report = check_classifier(trained_mlp, exported, test, course_model, 1e-4, 128, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text()) == report
    eager, _ = load_checkpoint(trained_mlp)
    python = (predict(eager, test.inputs, 1000).argmax(1) == test.labels).double().mean().item()
    assert report["eager"]["accuracy"] == round(python, 6) and report["samples"] == len(test)
    for consumer in ("cpp", "onnxruntime"):
        assert report[consumer]["accuracy"] == report["eager"]["accuracy"]
    # LibTorch runs the pinned kernels: its figure is recorded; ONNX Runtime's cannot be pinned: the bound
    assert 0 <= report["cpp"]["max_abs_diff"] <= 1e-4 and report["onnxruntime"]["max_abs_diff_at_most"] == 1e-4


def test_a_consumer_off_the_eager_model_fails_the_check(
    course_model, exported, trained_mlp, digits_store, tmp_path, monkeypatch
):
    real = cpp.run_model
    monkeypatch.setattr(cpp, "run_model", lambda *a: real(*a) + 1e-3)
    with pytest.raises(Exception, match=r"cpp: .*model.ts gives outputs 0.001 away .* > export.atol=0.0001"):
        check_classifier(
            trained_mlp, exported, load_split(digits_store["test"]), course_model, 1e-4, 128, tmp_path / "m.json"
        )
    assert not (tmp_path / "m.json").exists()


def run(binary, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)


def test_bad_input_is_one_line_and_exit_code_2(course_model, exported, tmp_path):
    torch.save(torch.rand(3, 1, 8, 8), tmp_path / "in.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a tensor file")
    cases = {
        ("run", tmp_path / "missing.ts", tmp_path / "in.pt", tmp_path / "out.pt"): "cannot read",
        ("run", tmp_path / "junk.pt", tmp_path / "in.pt", tmp_path / "out.pt"): "is not a TorchScript model",
        ("run", exported / "model.ts", tmp_path / "junk.pt", tmp_path / "out.pt"): "is not a tensor file",
        ("run", exported / "model.ts", tmp_path / "in.pt", tmp_path / "out.pt", "--batch", "0"): "--batch must be",
        ("generate", exported / "model.ts", "--prime", "x"): "is not a character model",
        ("fly",): "usage:",
    }
    for args, message in cases.items():
        done = run(course_model, *args)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        if message != "usage:":
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr  # no stack trace
    assert not (tmp_path / "out.pt").exists()


def test_the_program_runs_from_a_shell_without_library_paths(course_model, exported, tmp_path):
    """Its RUNPATH is relative to itself, so a user can run it as built, without LD_LIBRARY_PATH."""
    x = torch.rand(4, 1, 8, 8)
    torch.save(x, tmp_path / "in.pt")
    done = run(course_model, "run", exported / "model.ts", tmp_path / "in.pt", tmp_path / "out.pt")
    assert done.returncode == 0, done.stderr
    with torch.no_grad():
        assert torch.equal(torch.load(tmp_path / "out.pt"), torch.jit.load(exported / "model.ts")(x))
