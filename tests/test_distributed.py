"""Training under torchrun: each rank's shard of an epoch, and real 2-process gloo runs of the
train@mlp and train_transfer@transfer stages through `dvc repro` on the CPU: both ranks end with identical weights, rank 0
writes complete outputs, and DVC records the stage as done."""

from __future__ import annotations

import re

import pytest
import torch

from pipeline.training.distributed import SINGLE, World, shard
from tests.conftest import Project, md5


@pytest.mark.parametrize("n,size", [(10, 2), (11, 2), (7, 3), (2, 4)])
def test_shards_cover_every_sample_with_equal_steps(n, size):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    parts = [shard(order, World(rank, size)) for rank in range(size)]
    assert len({len(p) for p in parts}) == 1  # every rank takes the same number of steps
    assert set(torch.cat(parts).tolist()) == set(range(n))
    assert sum(len(p) for p in parts) - n < size  # padded by less than one round


def test_a_single_process_keeps_the_whole_order():
    order = torch.arange(9)
    assert torch.equal(shard(order, SINGLE), order)


# The stages that train under `distributed.launcher`: (family section, stage, script)
LAUNCHED = (("train", "train", "stages.train"), ("transfer", "train_transfer", "stages.train_transfer"))


@pytest.mark.slow
def test_two_gloo_ranks_train_the_stage_in_lockstep(reproduced_copy):
    """mlp from scratch and the transfer model on cnn's checkpoint, each as 2 gloo ranks."""
    project: Project = reproduced_copy
    params = project.read_params()
    params["distributed"]["launcher"] = "torchrun --standalone --nproc-per-node 2 -m"
    project.write_params(params)
    status = project.status()
    launched = {f"{stage}@{m}" for section, stage, _ in LAUNCHED for m in params[section]}
    assert set(status) == launched, status  # only the stages it launches

    for (section, stage, script), model in zip(LAUNCHED, ("mlp", "transfer"), strict=True):
        before = md5(project.path / f"models/{model}/model.pt")
        proc = project.dvc("repro", "--single-item", f"{stage}@{model}")
        log = proc.stdout + proc.stderr
        assert f"> torchrun --standalone --nproc-per-node 2 -m {script} {model}" in log
        digests = dict(re.findall(r"rank (\d) final weights sha256 ([0-9a-f]{64})", log))
        assert set(digests) == {"0", "1"} and digests["0"] == digests["1"], log[-3000:]
        assert "rank 0 of 2" in log and "rank 1 of 2" in log

        # Rank 0 wrote everything the stage declares, once, and DVC accepts it.
        assert md5(project.path / f"models/{model}/model.pt") != before
        for curve in ("loss", "accuracy"):
            rows = (project.path / f"plots/curves/{model}/{curve}.csv").read_text().splitlines()
            assert rows[0] == "epoch,train,validation" and len(rows) == 1 + params[section][model]["epochs"]
        checkpoint = torch.load(project.path / f"models/{model}/model.pt", weights_only=True)
        assert not any(k.startswith("module.") for k in checkpoint["model_state"])  # the model, not the DDP wrapper
        assert f"{stage}@{model}" not in project.status()
