"""`make bench`, 1: training throughput (samples/s, a train step including augmentation) of the
pipeline's own step beside the course-style loop, on generated MNIST- and CIFAR-shaped data; the
FLOPs of a training step as torch counts them."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from bench.datafiles import write_cifar_like, write_mnist_like
from bench.params import BenchParams
from pipeline.core.store import Split
from pipeline.data.augment import Policy, augment_batch
from pipeline.models import as_float, build_model
from pipeline.training.engine.accelerate import Accelerator
from pipeline.training.engine.loop import MULTICLASS, OPTIMIZERS, train_one_epoch
from pipeline.training.engine.runner import Runner

COURSE_BATCH = 20  # the course's MNIST and CIFAR-10 notebooks
GPU_BATCH = 4096  # on a GPU also a batch that fills it
SHAPES = {"mlp": ("mnist", (60_000, 1, 28, 28)), "cnn": ("cifar10", (50_000, 3, 32, 32))}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rate(step: Callable[[], int], seconds: float, device: torch.device) -> float:
    """Samples per second of `step` (which returns how many samples it processed), run for about
    `seconds` after one warm-up call."""
    step()
    sync(device)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += step()
    sync(device)
    return done / (time.perf_counter() - start)


def generated(shape: tuple[int, ...], seed: int = 0) -> Split:
    gen = torch.Generator().manual_seed(seed)
    return Split(
        torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen), torch.randint(0, 10, (shape[0],), generator=gen)
    )


def spec_for(shape: tuple[int, ...], mean: float = 0.5, std: float = 0.25) -> dict:
    return {
        "input_shape": list(shape[1:]),
        "classes": [str(i) for i in range(10)],
        "mean": [mean] * shape[1],
        "std": [std] * shape[1],
    }


def pipeline_step(arch: str, data: Split, batch: int, P: BenchParams, device: torch.device) -> Callable[[], int]:
    """The pipeline's own training step (pipeline.training.engine.loop.train_one_epoch over whole-split tensors
    on the device, augmentation on batches), on chunks of 64 batches."""
    p = P.model(arch).model_copy(update={"batch_size": batch})
    runner = Runner.local(f"train.{arch}", 0, device, P.accelerate)
    model = runner.model(build_model(arch, p, spec_for(tuple(data.inputs.shape))))
    acc = runner.accel
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    trainer = runner.trainer(model)  # torch.compile'd when accelerate.compile is on, as in training
    policy = Policy.from_params(P.augment[SHAPES[arch][0]])
    gen = torch.Generator().manual_seed(0)
    on_device = acc.place(data)
    shuffle = torch.Generator().manual_seed(0)
    chunk = batch * 64
    state = {"at": 0}

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return acc.prepare_input(augment_batch(as_float(acc.to_device(x)), policy, gen))

    def step() -> int:
        start = state["at"] % (len(data) - chunk)
        state["at"] += chunk
        part = Split(on_device.inputs[start : start + chunk], on_device.labels[start : start + chunk])
        train_one_epoch(trainer, part, optimizer, batch, shuffle, MULTICLASS, prepare, runner=runner)
        return chunk

    return step


def course_step(
    arch: str, data: Split, batch: int, P: BenchParams, device: torch.device, folder: Path
) -> Callable[[], int]:
    """The course's loop: a torchvision dataset object converting each PIL image with ToTensor()
    and Normalize() (and RandomHorizontalFlip + RandomRotation(10) for CIFAR), a DataLoader at
    `batch`, and per-batch `loss.item()`; the same network, plain SGD at the course's lr."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    norm = transforms.Normalize((0.5,) * data.inputs.shape[1], (0.5,) * data.inputs.shape[1])
    if arch == "mlp":
        write_mnist_like(folder, data)
        dataset = datasets.MNIST(
            folder, train=True, download=False, transform=transforms.Compose([transforms.ToTensor(), norm])
        )
    else:
        write_cifar_like(folder, data)

        class GeneratedCIFAR10(datasets.CIFAR10):
            def _check_integrity(self) -> bool:  # generated files: no upstream checksums to match
                return True

            def _load_meta(self) -> None:
                self.classes = [str(i) for i in range(10)]
                self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

        dataset = GeneratedCIFAR10(
            folder,
            train=True,
            download=False,
            transform=transforms.Compose(
                [transforms.RandomHorizontalFlip(), transforms.RandomRotation(10), transforms.ToTensor(), norm]
            ),
        )
    model = build_model(arch, P.model(arch), spec_for(tuple(data.inputs.shape), 0.0, 1.0)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    criterion = torch.nn.CrossEntropyLoss()
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=0)
    batches = iter(loader)

    def step() -> int:
        nonlocal batches
        done = 0
        model.train()
        for _ in range(64):
            try:
                x, y = next(batches)
            except StopIteration:
                batches = iter(loader)
                x, y = next(batches)
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            _ = loss.item() * x.size(0)  # the course's running loss: one host sync per batch
            done += len(y)
        return done

    return step


def counted_train_flops(arch: str, P: BenchParams, shape: tuple[int, ...], batch: int = 8) -> int:
    """FLOPs of one training sample (forward and backward of the pipeline's model), counted by
    torch's FlopCounterMode on a small float32 batch on the CPU."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(arch, P.model(arch), spec_for(shape))
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(batch, *shape[1:], generator=gen), torch.randint(0, 10, (batch,), generator=gen)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops() // batch


def with_runtime(P: BenchParams, **change) -> BenchParams:
    return P.with_accelerate(**change)


def throughput(
    P: BenchParams, device: torch.device, seconds: float, threads: int, compiled: bool = False
) -> list[dict]:
    rows = []
    for arch, (dataset, shape) in SHAPES.items():
        data = generated(shape)
        own = P.model(arch).batch_size
        flops = counted_train_flops(arch, P, shape)
        sizes = {COURSE_BATCH, own, 256} | ({GPU_BATCH} if device.type == "cuda" else set())
        torch.set_num_threads(threads)
        with tempfile.TemporaryDirectory() as tmp:
            course = rate(course_step(arch, data, COURSE_BATCH, P, device, Path(tmp)), seconds, device)
        runs = [(batch, P, None) for batch in sorted(sizes)]
        if Accelerator.for_device(device, P.accelerate, conv=arch == "cnn").autocast is None:
            # Where the default trains in float32 (a CPU), also what `accelerate.amp: bf16` gives.
            runs += [(batch, with_runtime(P, amp="bf16"), "bf16") for batch in sorted({own, 256})]
        if compiled:  # --compile: what `accelerate.compile: true` gives (the first chunk, compiling, is not timed)
            runs += [(batch, with_runtime(P, compile=True), "compile") for batch in sorted({own, 256})]
        for batch, params, variant in runs:
            fast = rate(pipeline_step(arch, data, batch, params, device), seconds, device)
            rows.append(
                {
                    "model": arch,
                    "data": f"{dataset}-shaped {tuple(shape)}",
                    "batch": batch,
                    "own_batch": batch == own,
                    "amp": "bf16" if variant == "bf16" else None,
                    "variant": variant,
                    "samples_per_s": round(fast, 1),
                    "course_samples_per_s": round(course, 1),
                    "course_batch": COURSE_BATCH,
                    "ratio": round(fast / course, 2),
                    "flops_per_sample": flops,
                    "achieved_gflops": round(fast * flops / 1e9, 2),
                }
            )
            print(
                f"  {arch} batch {batch:4d}{' ' + variant if variant else ''}: {fast:10.0f} samples/s, course loop "
                f"{course:8.0f} -> {fast / course:5.1f}x",
                flush=True,
            )
    return rows
