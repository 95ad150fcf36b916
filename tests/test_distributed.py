"""Training under torchrun: each rank's shard of an epoch, and real 2-process gloo runs of the
train@mlp and train_transfer@transfer stages through `dvc repro` on the CPU: both ranks end with identical weights, rank 0
writes complete outputs, and DVC records the stage as done."""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil  # installed with dvc
import pytest
import torch

from pipeline.core.cli import RANKS_END_TOGETHER
from pipeline.core.errors import ConfigError
from pipeline.models.charrnn import batches
from pipeline.training.engine.distributed import SINGLE, World, shard
from pipeline.training.engine.runner import Runner
from tests.conftest import Project, md5, tool_env


@pytest.mark.parametrize("n,size,batch", [(10, 2, 4), (11, 2, 4), (7, 3, 3), (2, 4, 4), (100, 4, 32)])
def test_step_k_of_all_ranks_is_batch_k_of_one_process(n, size, batch):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    parts = [shard(order, World(rank, size), batch, "train.m.batch_size") for rank in range(size)]
    assert len({len(p) for p in parts}) == 1  # every rank takes the same number of steps
    assert set(torch.cat(parts).tolist()) == set(range(n))
    assert sum(len(p) for p in parts) - n < size  # padded by less than one round
    padded = torch.cat([order, order])[: sum(len(p) for p in parts)]
    step = batch // size
    for k, start in enumerate(range(0, len(padded), batch)):
        together = torch.cat([p[k * step : (k + 1) * step] for p in parts])
        assert torch.equal(together, padded[start : start + batch])  # in the same order, rank by rank


def test_a_batch_that_does_not_split_over_the_ranks_names_its_key():
    with pytest.raises(
        ConfigError, match=r"^train.m.batch_size: 10 does not split evenly over 4 ranks; make it a multiple of 4$"
    ):
        shard(torch.arange(40), World(0, 4), 10, "train.m.batch_size")


def test_a_single_process_keeps_the_whole_order():
    order = torch.arange(9)
    assert torch.equal(shard(order, SINGLE, 4, "train.m.batch_size"), order)


def test_the_char_rnn_ranks_walk_blocks_of_rows_that_make_up_every_window():
    """Each rank keeps whole rows (its hidden state continuous along them); together, window by
    window, they are one process's windows."""
    codes = torch.arange(1000)
    whole = list(batches(codes, 8, 10))
    runners = [Runner("charrnn.c", 0, World(rank, 2), None, None) for rank in range(2)]
    parts = [list(batches(codes, 8, 10, r.rows(8, "charrnn.c.batch_size"))) for r in runners]
    assert all(len(p) == len(whole) for p in parts)
    for k, (x, y) in enumerate(whole):
        assert torch.equal(torch.cat([p[k][0] for p in parts]), x) and torch.equal(
            torch.cat([p[k][1] for p in parts]), y
        )
    for rank, part in enumerate(parts):  # consecutive windows continue the same rows
        assert torch.equal(part[1][0][:, 0], part[0][0][:, -1] + 1)
    with pytest.raises(ConfigError, match=r"^charrnn.c.batch_size: 7 rows do not split evenly over 2 ranks"):
        runners[0].rows(7, "charrnn.c.batch_size")


def test_a_one_process_family_under_a_launcher_trains_on_rank_0_alone(monkeypatch, caplog):
    """Style transfer and the tabular models started under torchrun: the other ranks exit at once
    (successfully, writing nothing), rank 0 says so in one line and trains as one process."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(SystemExit) as ended, Runner.start("style.s", "cpu", 0, ranks=False):
        pytest.fail("rank 1 should not train")
    assert ended.value.code == 0
    monkeypatch.setenv("RANK", "0")
    with caplog.at_level(logging.INFO, logger="pipeline"), Runner.start("style.s", "cpu", 0, ranks=False) as runner:
        assert not runner.world.active and runner.device == torch.device("cpu")
    assert [r.getMessage() for r in caplog.records if r.name == "pipeline.training.engine.runner"] == [
        "style.s trains in one process: rank 0 trains alone, the other ranks of the launcher exit"
    ]


# The families that train under `distributed.launcher`: (params section, stage, script, the entry
# trained on 2 ranks).
LAUNCHED = (
    ("train", "train", "stages.train", "mlp"),
    ("transfer", "train_transfer", "stages.train_transfer", "transfer"),
    ("sentiment", "train_sentiment", "stages.train_sentiment", "sentiment"),
    ("charrnn", "train_charrnn", "stages.train_charrnn", "charrnn"),
)
TORCHRUN = "torchrun --standalone --nproc-per-node 2 -m"
# How far 2 ranks' best validation loss may be from one process's: the run-to-run noise of one
# process on the shrunk pipeline, the spread (max - min) of its best validation loss over 5 seeds,
# measured with `python bench/ranks.py --seeds 4` in the shrunk project (2026-12-07: 2 ranks were
# 0.0047, 0.0004, 0.0004 and 0.0096 from one process). Two ranks take one process's steps
# (test_step_k_of_all_ranks_is_batch_k_of_one_process); what differs is the random draws (dropout,
# augmentation) and the order of float sums, and the draws are what another seed changes.
NOISE = {"train": 0.1198, "transfer": 0.0028, "sentiment": 0.0207, "charrnn": 0.0340}


def best_val_loss(path) -> float:
    return torch.load(path, weights_only=True)["metrics"]["val_loss"]


def with_launcher(project: Project, launcher: str = TORCHRUN, **mlp) -> dict:
    params = project.read_params()
    params["distributed"]["launcher"] = launcher
    params["train"]["mlp"] |= mlp
    project.write_params(params)
    return params


@pytest.mark.slow
def test_two_gloo_ranks_train_every_minibatch_family_in_lockstep(reproduced_copy):
    """mlp from scratch, the transfer model on cnn's checkpoint, the sentiment RNN and the char-RNN,
    each as 2 gloo ranks through `dvc repro`: the same weights on both ranks, rank 0 alone writes,
    DVC records it, and the validation loss is one process's within its run-to-run noise."""
    project: Project = reproduced_copy
    params = with_launcher(project)
    launched = {f"{stage}@{m}" for section, stage, _, _ in LAUNCHED for m in params[section]}
    assert set(project.status()) == launched  # only the stages it launches

    checkpoints = {model: project.path / f"models/{model}/model.pt" for _, _, _, model in LAUNCHED}
    before = {model: (md5(path), best_val_loss(path)) for model, path in checkpoints.items()}
    targets = [f"{stage}@{model}" for _, stage, _, model in LAUNCHED]
    proc = project.dvc("repro", "--single-item", *targets)  # one after the other, in this order
    runs = per_run(proc.stderr)
    assert len(runs) == len(LAUNCHED), proc.stderr[-3000:]
    for (section, stage, script, model), log in zip(LAUNCHED, runs, strict=True):
        assert f"> {TORCHRUN} {script} {model} " in proc.stdout
        assert f" {model} (" in log, log[-2000:]  # the family's own line: this run is this stage's
        digests = dict(re.findall(r"rank (\d) final weights sha256 ([0-9a-f]{64})", log))
        assert set(digests) == {"0", "1"} and digests["0"] == digests["1"], log[-3000:]
        assert "rank 0 of 2" in log and "rank 1 of 2" in log
        # Only rank 0 runs the writing side of the loop (save, curves, the epoch line): one line an epoch.
        assert len(re.findall(r"epoch +1/\d+ ", log)) == 1, log[-3000:]

        # Rank 0 wrote everything the stage declares, once, and DVC accepts it.
        checkpoint = checkpoints[model]
        assert md5(checkpoint) != before[model][0], stage
        epochs = len((project.path / f"plots/curves/{model}/loss.csv").read_text().splitlines()) - 1
        for curve in ("loss", "accuracy"):
            rows = (project.path / f"plots/curves/{model}/{curve}.csv").read_text().splitlines()
            assert rows[0] == "epoch,train,validation" and len(rows) == 1 + epochs
            assert [int(r.split(",")[0]) for r in rows[1:]] == list(range(1, epochs + 1))  # each epoch once
        assert 1 <= epochs <= params[section][model]["epochs"]
        saved = torch.load(checkpoint, weights_only=True)
        assert not any(k.startswith("module.") for k in saved["model_state"])  # the model, not the DDP wrapper
        one_process, two_ranks = before[model][1], best_val_loss(checkpoint)
        assert abs(two_ranks - one_process) <= NOISE[section], (stage, one_process, two_ranks)
    assert not set(project.status()) & set(targets)  # recorded


def per_run(stderr: str) -> list[str]:
    """The stages' output, one run after another, each ending with its two ranks' final weights."""
    runs, current, ended = [], [], 0
    for line in stderr.splitlines():
        current.append(line)
        if "final weights sha256" in line and (ended := ended + 1) == 2:
            runs.append("\n".join(current))
            current, ended = [], 0
    return runs


@pytest.mark.slow
def test_a_killed_rank_ends_the_stage_with_one_line_and_nothing_written(reproduced_copy, tmp_path):
    """SIGKILL to rank 1 of train@mlp in the middle of its training, under `dvc repro`."""
    project: Project = reproduced_copy
    with_launcher(project, epochs=100_000, patience=100_000)  # trains until it is killed
    lock = (project.path / "dvc.lock").read_bytes()
    out = tmp_path / "dvc.log"
    with out.open("w") as fh:
        dvc = subprocess.Popen(
            [str(Path(sys.executable).with_name("dvc")), "repro", "--single-item", "train@mlp"],
            cwd=project.path,
            env=tool_env() | project.env,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
        try:
            rank_1 = wait_for_rank_1_training(dvc, out)
            rank_1.send_signal(signal.SIGKILL)
            assert dvc.wait(timeout=120) != 0
        finally:
            if dvc.poll() is None:
                dvc.kill()
    log = out.read_text()
    errors = [line for line in log.splitlines() if line.startswith("ERROR pipeline:")]
    assert len(errors) == 1, log[-4000:]
    assert errors[0].startswith("ERROR pipeline: rank 0 of 2: ") and RANKS_END_TOGETHER in errors[0], errors[0]
    assert not re.search(r'File ".*/(pipeline|stages)/', log)  # no traceback from the stage itself
    assert "exitcode  : -9" in log and "Signal 9 (SIGKILL)" in log  # torchrun's report: which rank, why
    # Nothing written, nothing recorded: the outputs of the killed run are gone, dvc.lock is as it was.
    for path in ("models/mlp/model.pt", "plots/curves/mlp/loss.csv", "plots/curves/mlp/accuracy.csv"):
        assert not (project.path / path).exists(), path
    assert (project.path / "dvc.lock").read_bytes() == lock
    assert "train@mlp" in project.status()


def wait_for_rank_1_training(dvc: subprocess.Popen, log: Path, timeout: float = 120) -> psutil.Process:
    """Rank 1's process, once rank 0 has logged its second epoch (so the stage wrote outputs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dvc.poll() is not None:
            raise AssertionError(f"dvc ended first:\n{log.read_text()[-3000:]}")
        if "epoch   2/" in log.read_text():
            for child in psutil.Process(dvc.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if child.environ().get("RANK") == "1" and "stages.train" in " ".join(child.cmdline()):
                        return child
        time.sleep(0.2)
    raise AssertionError(f"rank 1 never trained:\n{log.read_text()[-3000:]}")
