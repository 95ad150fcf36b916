"""`make bench` stays runnable: its training steps run small against the library's current API,
the files it writes for the course loop are what torchvision reads, its FLOP count is the
layers' arithmetic, and its table renders the committed bench/results.json. (The benchmark's
figures themselves are measured by `make bench`, never asserted here.)"""

from __future__ import annotations

import gzip
import hashlib
import json

import numpy as np
import pytest
import torch

from bench import ceiling, datafiles, inference, report, throughput
from bench.params import BenchParams, load
from pipeline.models import build_model
from tests.conftest import ROOT

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def params() -> BenchParams:
    return load(ROOT / "params.yaml")


def test_flop_count_is_the_layers_arithmetic(params):
    layers = ceiling.mlp_layers(params)
    assert layers == [(784, 512), (512, 512), (512, 10)]  # the default 512-512 MLP on 28x28
    # forward + weight gradient for the first layer (its input needs no gradient), and forward +
    # weight gradient + input gradient for the others: 2 FLOPs per multiply-add.
    assert ceiling.train_flops_per_sample(layers) == 2 * 784 * 512 * 2 + 2 * 512 * 512 * 3 + 2 * 512 * 10 * 3


def test_mnist_files_read_back_by_torchvision(tmp_path):
    from torchvision import datasets

    data = throughput.generated((30, 1, 28, 28), seed=3)
    datafiles.write_mnist_like(tmp_path, data)
    mnist = datasets.MNIST(tmp_path, train=True, download=False)
    assert torch.equal(mnist.data, data.inputs[:, 0])
    assert torch.equal(mnist.targets, data.labels)


def test_real_mnist_subset_is_read_by_the_pipelines_mnist_parser(params, tmp_path):
    from pipeline.data.normalize import make_splits
    from pipeline.data.sources import facts, read_source

    folder = datafiles.real_mnist_subset(tmp_path / "mnist")
    mnist = facts("mnist", read_source(ROOT / "datasets" / "mnist", "mnist"))
    splits = make_splits(mnist, folder, params.normalize["mnist"])
    assert len(splits["train"].labels) + len(splits["val"].labels) == 4000 and len(splits["test"].labels) == 1000
    assert splits["train"].inputs.shape[1:] == (1, 28, 28) and splits["train"].inputs.max() == 255
    assert np.bincount(splits["test"].labels).tolist() == [100] * 10  # every digit, as many of each
    with gzip.open(folder / "train-labels-idx1-ubyte.gz") as fh:
        assert np.bincount(np.frombuffer(fh.read()[8:], np.uint8)).tolist() == [400] * 10
    # real MNIST, not a stand-in: its well-known mean pixel, 0.1307 of white (33.3 of 255)
    assert abs(float(splits["train"].inputs.mean()) - 33.3) < 2.0


@pytest.mark.parametrize("arch,shape", [("mlp", (40, 1, 28, 28)), ("cnn", (40, 3, 32, 32))])
def test_course_loop_runs_on_the_written_files(params, tmp_path, arch, shape):
    step = throughput.course_step(arch, throughput.generated(shape), 4, params, CPU, tmp_path)
    assert step() == 64 * 4  # 64 batches of 4, starting the loader again after 10


@pytest.mark.parametrize("amp", ["off", "bf16"])
def test_pipeline_step_trains_through_the_library(params, amp):
    p = params.with_accelerate(amp=amp)
    data = throughput.generated((300, 3, 32, 32))
    step = throughput.pipeline_step("cnn", data, 2, p, CPU)
    assert step() == 2 * 64 and step() == 2 * 64  # chunks of 64 batches, moving through the data


def test_table_renders_the_committed_results():
    results = json.loads((ROOT / "bench" / "results.json").read_text())
    text = report.table(results)
    for row in results["throughput"]:
        assert f"| {row['samples_per_s']:,.0f} samples/s |" in text
    assert f"{results['limit'][0]['achieved_gflops']:.1f} GFLOP/s" in text
    if "pipeline" in results:
        assert f"| {results['pipeline']['total_s']:.0f} s, peak RSS" in text


def test_counted_flops_agree_with_the_layers_arithmetic(params):
    # FlopCounterMode counts what autograd runs: for the MLP exactly the hand count above
    assert throughput.counted_train_flops("mlp", params, (1, 1, 28, 28)) == ceiling.train_flops_per_sample(
        ceiling.mlp_layers(params)
    )
    # a CNN's backward costs about twice its forward (less: the first conv needs no input gradient)
    from torch.utils.flop_counter import FlopCounterMode

    shape = (1, 3, 32, 32)
    model = build_model("cnn", params.model("cnn"), throughput.spec_for(shape))
    with FlopCounterMode(display=False) as forward, torch.no_grad():
        model(torch.rand(8, *shape[1:]))
    per_sample = forward.get_total_flops() // 8
    assert 2 * per_sample < throughput.counted_train_flops("cnn", params, shape) < 3 * per_sample


def test_gpu_rows_render_against_the_bf16_ceiling():
    results = json.loads((ROOT / "bench" / "results.json").read_text())
    rows = [r | {"achieved_gflops": 5000.0} for r in results["throughput"]]
    results["bf16_ceiling"] = {"n": 8192, "dtype": "bfloat16", "tflops": 800.0}
    results["gpu_fraction"] = ceiling.against_ceiling(rows, results["bf16_ceiling"])
    assert results["gpu_fraction"][0]["fraction"] == 5.0 / 800.0
    assert "| 5.00 TFLOP/s | bf16 matmul 8192³: 800 TFLOP/s | 0.62% |" in report.table(results)


def test_setting_rows_render_with_their_setting_and_without_a_target():
    results = json.loads((ROOT / "bench" / "results.json").read_text())
    row = results["throughput"][1] | {"amp": None, "variant": "compile"}
    results["throughput"] = [row]
    line = report.table(results).splitlines()[2]
    assert "(its own), `accelerate.compile: true` |" in line and line.endswith("|  |")
    assert report.variant_of({"amp": "bf16"}) == "bf16"  # rows written before `variant` existed


# --- part 6, inference (bench/inference.py) ------------------------------------------------------


@pytest.fixture(scope="module")
def exports(digits_store, trained_mlp, tmp_path_factory):
    """exports/mlp and models/mlp/model.pt laid out as the pipeline writes them, from a small MLP."""
    import shutil

    from pipeline.core.store import load_split
    from pipeline.deployment.export import export_classifier

    root = tmp_path_factory.mktemp("inference")
    export_classifier(trained_mlp, load_split(digits_store["test"]).inputs, root / "exports" / "mlp", 1e-4, 128)
    (root / "models" / "mlp").mkdir(parents=True)
    shutil.copy(trained_mlp, root / "models" / "mlp" / "model.pt")
    return root


def test_example_inputs_follow_the_metadata():
    images = inference.example_inputs(
        {"input": {"shape": ["batch", 1, 8, 8], "dtype": "float32", "range": [0.0, 1.0]}}, 3
    )
    assert images.shape == (3, 1, 8, 8) and images.dtype == np.float32 and 0 <= images.min() and images.max() < 1
    rows = inference.example_inputs({"input": {"shape": ["batch", 30], "dtype": "float32"}}, 256)
    assert rows.shape == (256, 30) and rows.min() < 0 < rows.max()  # standardized features
    codes = inference.example_inputs(
        {"input": {"shape": ["batch", 72], "dtype": "int64", "vocabulary": ["good", "bad", "film"]}}, 5
    )
    assert codes.dtype == np.int64 and codes.shape == (5, 72) and set(np.unique(codes)) <= {0, 1, 2, 3, 4}


@pytest.mark.slow  # a real C++ build (about half a minute)
def test_inference_times_every_runtime_on_an_export(exports, course_model):
    inf = inference.inference(
        ["mlp", "nope"],
        threads=1,
        seconds=0.01,
        exports=exports / "exports",
        checkpoints=exports / "models",
        binary=course_model,
        cold_model=None,
    )
    assert inf["threads"] == 1 and inf["models_not_found"] == ["nope"] and "cold_predict" not in inf
    assert [(r["model"], r["batch"]) for r in inf["rows"]] == [("mlp", 1), ("mlp", 256)]
    for r in inf["rows"]:
        for key in ("seconds_per_call", "samples_per_s", "vs_eager"):
            assert list(r[key]) == list(inference.RUNTIMES) and all(v > 0 for v in r[key].values())
        assert r["vs_eager"]["eager"] == 1.0
    table = report.inference_table(inf)
    assert table.count("| mlp, batch ") == 2 and "—" not in table and "(1 thread, CPU)" in table


def test_a_missing_checkpoint_or_onnx_file_leaves_a_gap_not_an_error(exports, tmp_path):
    import shutil

    folder = tmp_path / "exports" / "mlp"
    shutil.copytree(exports / "exports" / "mlp", folder)
    (folder / "model.onnx").unlink()
    rows = inference.model_rows(folder, tmp_path / "no-checkpoint.pt", None, 1, 0.01, batches=(4,))
    assert rows[0]["seconds_per_call"]["torchscript"] > 0
    assert rows[0]["seconds_per_call"]["eager"] is None and rows[0]["vs_eager"]["torchscript"] is None
    assert rows[0]["seconds_per_call"]["onnxruntime"] is None and rows[0]["seconds_per_call"]["cpp"] is None
    assert report.inference_table({"threads": 2, "rows": rows}).count("—") == 3


@pytest.mark.slow  # three fresh processes, one of them importing torch
@pytest.mark.skipif(inference.predict_command() is None, reason="no `predict` command installed")
def test_cold_predict_runs_the_three_commands_on_one_image(exports):
    cold = inference.cold_predict(exports / "exports" / "mlp", runs=1)
    assert {"predict_onnx_s", "predict_torch_s", "plain_torch_s"} <= set(cold) and cold["runs"] == 1
    # the three do the same job: the same picture, the same model, the same answer
    assert len(set(cold["top_class"].values())) == 1 and set(cold["top_class"]) == {
        "predict_onnx",
        "predict_torch",
        "plain_torch",
    }
    assert cold["predict_onnx_imports_torch"] is False  # the promise: ONNX Runtime alone


@pytest.mark.skipif(inference.predict_command() is None, reason="no `predict` command installed")
def test_a_failing_predict_is_recorded_not_raised(exports, tmp_path):
    import shutil

    folder = tmp_path / "mlp"
    shutil.copytree(exports / "exports" / "mlp", folder)
    (folder / "model.onnx").write_bytes(b"not onnx")
    cold = inference.cold_predict(folder, runs=1)
    assert "failed (exit 2)" in cold["skipped"]  # make bench keeps its other parts
    assert "cold `predict`: not measured (" in report.inference_table(
        {
            "threads": 1,
            "rows": [
                {
                    "model": "mlp",
                    "batch": 1,
                    "seconds_per_call": {"eager": 1e-4},
                    "samples_per_s": {"eager": 1e4},
                    "vs_eager": {"eager": 1.0},
                }
            ],
            "cold_predict": cold,
        }
    )


def test_torch_imports_are_seen():
    assert inference.imports_torch(["-c", "import torch"]) and not inference.imports_torch(["-c", "import json"])


def test_inference_renders_in_the_table():
    results = json.loads((ROOT / "bench" / "results.json").read_text())
    if "inference" in results:  # the committed run's section
        text = report.inference_table(results["inference"])
        assert text.count("| ") >= len(results["inference"]["rows"]) and "µs" in text
    results["inference"] = {
        "threads": 1,
        "rows": [],
        "note": "no exported classifiers",
        "cold_predict": {
            "model": "cnn",
            "predict_onnx_s": 0.25,
            "predict_torch_s": 2.5,
            "plain_torch_s": 2.0,
            "predict_onnx_imports_torch": False,
        },
    }
    text = report.table(results)
    assert "| 0.25 s | plain torch script: 2.00 s | 8.0× faster | well under 1 s, without torch |" in text
    assert "| 2.50 s | plain torch script: 2.00 s | 1.2× slower | |" in text
    assert "not measured (no exported classifiers)" in report.inference_table(results["inference"])


# --- the fault matrix (bench/faults.py): its reading of what a user sees -----------------------


def test_the_fault_matrix_reads_the_line_a_user_reads_first():
    from bench import faults

    dvc_noise = "Running stage 'x':\n> python -m stages.x\nERROR: failed to reproduce 'x': exited with 2\n"
    assert faults.first_error(dvc_noise + "ERROR pipeline: a.pt: corrupt; rerun\n").startswith("ERROR pipeline: a.pt")
    assert (
        faults.first_error("error: params.yaml is invalid:\n  train.mlp.seed: >= 0\n")
        == "error: params.yaml is invalid: train.mlp.seed: >= 0"
    )
    assert faults.first_error(dvc_noise) == "ERROR: failed to reproduce 'x': exited with 2"
    assert len(faults.CASES) == 18 and all(c.stage is None or "@" in c.stage for c in faults.CASES.values())


def test_the_fault_matrix_finds_lost_bytes_only_where_neither_cache_nor_git_has_them(tmp_path):
    from bench import faults
    from tests.helpers.project import Project

    proj = Project(tmp_path)
    proj.git("init", "-q")
    (tmp_path / "m.json").write_text("{}\n")
    proj.git("add", "m.json")
    proj.git("commit", "-qm", "m")
    cached = tmp_path / ".dvc/cache/files/md5/ab/cdef"
    cached.parent.mkdir(parents=True)
    cached.write_text("x")
    assert faults.recoverable(proj, "m.json", hashlib.md5(b"{}\n").hexdigest())
    assert faults.recoverable(proj, "models/x.pt", "abcdef")
    assert not faults.recoverable(proj, "m.json", "0" * 32)
    assert faults.snapshot(tmp_path) == {"m.json": hashlib.md5(b"{}\n").hexdigest()}  # not .git's or .dvc's
