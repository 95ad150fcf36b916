"""bench/course_time.py: its table has a row per model asked for, with the course's step counts,
and every estimate is the measured step time times the course's steps (never a timed assertion:
how long a step takes is the benchmark's output, not the test's)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import torch

from bench import course_time
from pipeline.core.params import read_yaml
from tests.conftest import ROOT

SCRIPT = str(ROOT / "bench" / "course_time.py")


def expected_total(row: dict, clock: str) -> float:
    epoch_s = (
        row[f"train_step_s_{clock}"] * row["steps_per_epoch"]
        + row[f"val_batch_s_{clock}"] * row["val_batches_per_epoch"]
    )
    return row["epochs"] * epoch_s / 60


@pytest.mark.slow
def test_table_rows_are_computed_from_the_measured_steps(tmp_path):
    out = tmp_path / "course.json"
    run = subprocess.run(
        [sys.executable, SCRIPT, "--steps", "1", "--models", "mlp", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["device"] == "cpu" and result["threads"] == 1  # the pipeline's deterministic CPU mode
    assert result["baselines"]["matmul_gflops"] > 0 and result["baselines"]["import_torch_s"] > 0
    rows = {r["model"]: r for r in result["rows"]}
    assert list(rows) == ["mlp"]  # (the other models' counts: test_the_course_counts_of_each_job)
    # The course's counts: MNIST 48,000 / 12,000 at batch 20, 50 epochs.
    mlp = rows["mlp"]
    assert (mlp["steps_per_epoch"], mlp["val_batches_per_epoch"], mlp["epochs"]) == (2400, 600, 50)
    for name, row in rows.items():
        assert row["train_steps_timed"] >= 1 and row["val_batches_timed"] >= 1
        for clock in ("wall", "cpu"):
            assert row[f"train_step_s_{clock}"] > 0 and row[f"val_batch_s_{clock}"] > 0
            assert row[f"total_minutes_{clock}"] > 0
            assert row[f"total_minutes_{clock}"] == pytest.approx(expected_total(row, clock), rel=1e-9)
        # the printed row shows the same figures as the JSON
        line = next(ln for ln in run.stdout.splitlines() if ln.startswith(f"| {name} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[3] == f"{row['steps_per_epoch']:,}"
        assert cells[-2:] == [f"{row['total_minutes_wall']:,.1f}", f"{row['total_minutes_cpu']:,.1f}"]
    assert re.search(r"bare matmul [\d.]+ GFLOP/s", run.stdout)


def test_the_course_counts_of_each_job():
    """Each model's steps and validation batches per epoch, and epochs, at the course's settings,
    without timing a step: anna.txt's 1,985,223 characters, 10 % held out, in windows of 128 x 100,
    20 epochs."""
    from bench import course_jobs

    job = course_jobs.charrnn(read_yaml(ROOT / "params.yaml"), torch.device("cpu"))
    assert (job.steps_per_epoch, job.val_batches, job.epochs) == (139, 15, 20)


def fake_clock(per_step: float, setup: float = 0.0):
    """A `timed` that runs the job and reports `setup + per_step x k` seconds (CPU: half of that)."""

    def timed(run, k, device):
        run(k)
        return setup + per_step * k, (setup + per_step * k) / 2

    return timed


def test_estimate_scales_the_step_time_to_the_course(monkeypatch):
    calls = []
    job = course_time.Job("setting", calls.append, calls.append, steps_per_epoch=10, val_batches=2, epochs=3, scale=8)
    monkeypatch.setattr(course_time, "timed", fake_clock(2.0))
    row = course_time.estimate("x", job, steps=3, min_seconds=0.5, device=torch.device("cpu"))
    assert calls == [1, 3, 1, 3]  # warm-up, then 3 timed (6 s: long enough), for training then validation
    assert row["train_step_s_wall"] == 16.0 and row["train_step_s_cpu"] == 8.0  # 2 s per batch of 1/8
    assert row["total_minutes_wall"] == pytest.approx(3 * (16 * 10 + 16 * 2) / 60)


def test_a_fixed_cost_per_call_is_not_counted_as_steps(monkeypatch):
    monkeypatch.setattr(course_time, "timed", fake_clock(2.0, setup=5.0))
    wall, cpu, k = course_time.measure(lambda k: None, 2, 0.5, torch.device("cpu"), fixed_cost=True)
    assert (wall, cpu, k) == (pytest.approx(2.0), pytest.approx(1.0), 2)


def test_a_light_model_runs_more_steps(monkeypatch):
    monkeypatch.setattr(course_time, "timed", fake_clock(0.01))
    calls = []
    wall, _, k = course_time.measure(calls.append, 1, 0.5, torch.device("cpu"))
    assert calls == [1, 1, 50] and k == 50 and wall == pytest.approx(0.01)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_cuda_without_a_gpu_is_a_one_line_error():
    run = subprocess.run(
        [sys.executable, SCRIPT, "--device", "cuda", "--models", "mlp"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2
    assert "no CUDA GPU" in run.stderr and "Traceback" not in run.stderr
