"""The device path of image training: on a CPU everything stays as it is; bf16 autocast (the GPU
default, forced here on the CPU) trains."""

from __future__ import annotations

import math
import shutil

import pytest
import torch

from pipeline.core.store import Split
from pipeline.models import build_model
from pipeline.schema.runtime import AccelerateParams
from pipeline.training.engine.accelerate import Accelerator
from pipeline.training.engine.loop import OPTIMIZERS, train_one_epoch
from pipeline.training.engine.runner import Runner
from tests.conftest import small_train_params

CPU = torch.device("cpu")


def tiny_data(n: int = 96) -> Split:
    gen = torch.Generator().manual_seed(0)
    return Split(
        torch.randint(0, 256, (n, 1, 8, 8), dtype=torch.uint8, generator=gen), torch.randint(0, 10, (n,), generator=gen)
    )


def tiny_model(arch: str = "cnn"):
    p = small_train_params(arch)
    spec = {"input_shape": [1, 8, 8], "classes": [str(i) for i in range(10)], "mean": [0.5], "std": [0.25]}
    return p, build_model(arch, p, spec)


def test_on_a_cpu_nothing_changes_by_default():
    acc = Accelerator.for_device(CPU, AccelerateParams(), conv=True)
    assert acc.autocast is None and not acc.channels_last and not acc.compile
    data = tiny_data()
    assert acc.place(data) is data
    x = data.inputs[:4]
    assert acc.to_device(x) is x


def test_bf16_autocast_trains_and_keeps_float32_weights():
    acc = Accelerator.for_device(CPU, AccelerateParams(amp="bf16"), conv=True)
    assert acc.autocast == torch.bfloat16
    p, model = tiny_model()
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    before = [t.detach().clone() for t in model.parameters()]
    runner = Runner.local("train.m", 0, CPU, AccelerateParams(amp="bf16"))
    out = train_one_epoch(model, tiny_data(), optimizer, 32, torch.Generator().manual_seed(0), runner=runner)
    assert math.isfinite(out["loss"]) and 0 <= out["accuracy"] <= 1
    assert all(t.dtype == torch.float32 for t in model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_channels_last_is_for_convolutional_models_on_a_gpu_only():
    defaults = AccelerateParams()
    gpu = torch.device("cuda")  # the settings only; nothing is allocated
    assert (
        Accelerator(gpu, None, True)
        .prepare_input(torch.zeros(2, 3, 4, 4))
        .is_contiguous(memory_format=torch.channels_last)
    )
    assert not Accelerator.for_device(CPU, defaults, conv=True).channels_last
    assert Accelerator.for_device(gpu, defaults, conv=True).channels_last
    assert not Accelerator.for_device(gpu, defaults, conv=False).channels_last


@pytest.mark.slow
def test_accelerate_compile_trains_the_module_that_is_saved():
    """`accelerate.compile: true` trains through torch.compile (inductor; on a CPU it needs a C compiler)
    and updates the very parameters that the checkpoint saves."""
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("torch.compile on a CPU needs a C compiler (cc/gcc); none here")
    acc = Accelerator.for_device(CPU, AccelerateParams(compile=True), conv=False)
    p, model = tiny_model("mlp")
    runner = acc.runner(model)
    assert acc.compile and runner is not model
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    before = [t.detach().clone() for t in model.parameters()]
    out = train_one_epoch(runner, tiny_data(), optimizer, 32, torch.Generator().manual_seed(0))
    assert math.isfinite(out["loss"]) and 0 <= out["accuracy"] <= 1
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
