"""How long would the course's real runs take here? (`python bench/course_time.py`)

For each model at the course's settings (docs/results.md, "The course's settings"; the `course:`
comments of params.yaml), times a few training steps and validation batches with the pipeline's own
code (model builders, `pipeline.train.train_one_epoch` with the image models' augmentation and
accelerate settings, `pipeline.charrnn.run_epoch`, `pipeline.style.stylize`) on seeded random
tensors of the real shapes, after a warm-up call, in the mode `pipeline.runtime.configure` picks (a
CPU: deterministic, one thread; CUDA: bf16 autocast for image training, as `pipeline.accelerate`).
Extrapolates to the course's epochs, one validation pass per epoch included (data loading,
checkpoint writes and the evaluate stage are not), and prints the table beside baselines from the
same run (bare matmul GFLOP/s as bench/ceiling.py measures them; `python -c "import torch"`).

    python bench/course_time.py [--models mlp cnn ...] [--steps N] [--device cpu|cuda|auto] [--json FILE]
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: `bench.` and `pipeline.` import from the root

from bench.ceiling import matmul_gflops  # noqa: E402
from bench.throughput import sync  # noqa: E402
from pipeline.accelerate import Accelerator  # noqa: E402
from pipeline.augment import Policy, augment_batch  # noqa: E402
from pipeline.charrnn import run_epoch  # noqa: E402
from pipeline.core import params  # noqa: E402
from pipeline.core.errors import ConfigError  # noqa: E402
from pipeline.core.io import write_json  # noqa: E402
from pipeline.data.store import Split  # noqa: E402
from pipeline.models import as_float, build_model  # noqa: E402
from pipeline.runtime import configure, resolve_device, seed_everything  # noqa: E402
from pipeline.schema.runtime import AccelerateParams, RuntimeParams  # noqa: E402
from pipeline.train import BINARY, MULTICLASS, OPTIMIZERS, evaluate, train_one_epoch  # noqa: E402

Run = Callable[[int], None]  # runs k steps (or k validation batches)


@dataclass
class Job:
    """One model at the course's settings: k training steps or validation batches, and how many of each."""

    setting: str
    train: Run
    validate: Run | None
    steps_per_epoch: int
    val_batches: int
    epochs: int
    scale: float = 1.0  # step time = measured x scale (timed at a smaller batch)


def random_split(n: int, shape: tuple[int, ...], classes: int, gen: torch.Generator, high: int = 256,
                 dtype: torch.dtype = torch.uint8, device: str | torch.device = "cpu") -> Split:
    return Split(torch.randint(0, high, (n, *shape), dtype=dtype, generator=gen).to(device),
                 torch.randint(0, classes, (n,), generator=gen).to(device))


def image_job(raw: dict, section: str, name: str, update: dict, spec: dict, policy: Policy, n_train: int, n_val: int,
              epochs: int, setting: str, device: torch.device, timing_batch: int | None = None) -> Job:
    """What pipeline.train_images.fit_images sets up (accelerator, optimizer, augmenting `prepare`),
    then pipeline.train.train_one_epoch over k batches and pipeline.train.evaluate over k batches
    (of `timing_batch` images when given, the figure then scaled to the real batch)."""
    p = params.entry(raw, section, name)
    p = type(p).model_validate(p.model_dump() | update)
    seed_everything(p.seed)
    model = build_model(p.arch, p, spec)
    accel = Accelerator.for_device(device, params.section(raw, "accelerate", AccelerateParams),
                                   conv=any(isinstance(m, torch.nn.Conv2d) for m in model.modules()))
    accel.prepare_model(model)
    optimizer = OPTIMIZERS[p.optimizer]([t for t in model.parameters() if t.requires_grad], p)
    shuffle, aug_gen, gen = (torch.Generator().manual_seed(s) for s in (p.seed, policy.seed, 0))
    shape, classes = tuple(spec["input_shape"]), len(spec["classes"])
    batch = timing_batch or p.batch_size

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return accel.prepare_input(augment_batch(as_float(accel.to_device(x)), policy, aug_gen))

    def train(k: int) -> None:
        data = accel.place(random_split(k * batch, shape, classes, gen))
        train_one_epoch(model, data, optimizer, batch, shuffle, MULTICLASS, prepare, autocast=accel.autocast)

    def validate(k: int) -> None:
        evaluate(model, accel.place(random_split(k * batch, shape, classes, gen)), batch)

    return Job(setting, train, validate, math.ceil(n_train / p.batch_size), math.ceil(n_val / p.batch_size), epochs,
               p.batch_size / batch)


def image_spec(shape: list[int], classes: int) -> dict:  # any mean and std: the data is random
    return {"input_shape": shape, "classes": [str(c) for c in range(classes)], "mean": [0.5] * shape[0],
            "std": [0.25] * shape[0]}


def policy(raw: dict, dataset: str) -> Policy:
    return Policy.from_params(SimpleNamespace(**raw["augment"][dataset]))


def mlp(raw: dict, device: torch.device) -> Job:
    return image_job(raw, "train", "mlp", {"dataset": "mnist", "momentum": 0.0, "batch_size": 20, "epochs": 50},
                     image_spec([1, 28, 28], 10), policy(raw, "mnist"), 48_000, 12_000, 50,
                     "MNIST 48,000/12,000, 784-512-512-10, SGD lr 0.01, batch 20, 50 epochs", device)


def fashion_mlp(raw: dict, device: torch.device) -> Job:
    return image_job(raw, "train", "fashion_mlp", {"dataset": "fashion_mnist", "epochs": 30},
                     image_spec([1, 28, 28], 10), policy(raw, "fashion_mnist"), 48_000, 12_000, 30,
                     "Fashion-MNIST 48,000/12,000, 784-256-128-64-10, Adam, batch 64, 30 epochs", device)


def cnn(raw: dict, device: torch.device) -> Job:
    return image_job(raw, "train", "cnn", {"dataset": "cifar10", "momentum": 0.0, "batch_size": 20, "epochs": 30},
                     image_spec([3, 32, 32], 10), policy(raw, "cifar10"), 40_000, 10_000, 30,
                     "CIFAR-10 40,000/10,000, conv 16-32-64 FC 500, SGD, batch 20, 30 epochs, augmented", device)


def transfer(raw: dict, device: torch.device) -> Job:
    # The course's head (1024-500-2), loader (batch 64, flips, rotations to 30 degrees) and 1 epoch; its
    # 22,500 train / 2,500 test images are unverified here. Timed at batch 8 on a CPU (64 takes most of a
    # minute): the frozen densenet's forward pass, nearly all of a step, costs the same per image.
    spec = {"backbone": {"source": "torchvision", "arch": "densenet121", "weights": "imagenet"},
            "classes": ["cat", "dog"], "input_shape": [3, 224, 224]}
    return image_job(raw, "transfer", "transfer",
                     {"dataset": "cat_dog", "label_map": None, "head": [500], "batch_size": 64, "epochs": 1},
                     spec, Policy(30.0, 0.0, (1.0, 1.0), 0.5, 0), 22_500, 2_500, 1,
                     "Cat_Dog 224 px 22,500/2,500, densenet121 frozen + 1024-500-2, Adam, batch 64, 1 epoch", device,
                     8 if device.type == "cpu" else None)


def charrnn(raw: dict, device: torch.device) -> Job:
    p = params.entry(raw, "charrnn", "charrnn")
    p = type(p).model_validate(p.model_dump() | {"corpus": "anna", "hidden": 512, "dropout": 0.5, "seq_length": 100,
                                                 "batch_size": 128, "lr": 0.001})
    seed_everything(p.seed)
    vocab, chars = 83, 1_985_223  # anna.txt: 83 distinct characters
    model = build_model("charrnn", p, {"chars": [chr(32 + i) for i in range(vocab)]}).to(device)
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    gen, window = torch.Generator().manual_seed(0), p.batch_size * p.seq_length

    def codes(k: int) -> torch.Tensor:
        return torch.randint(0, vocab, (k * window + 1,), generator=gen).to(device)

    n_val = chars // 10  # the held-out tail
    per_epoch = lambda n: (n - 1) // p.batch_size // p.seq_length  # noqa: E731  (as pipeline.charrnn.batches)
    return Job("anna.txt 1,985,223 chars, 10 % held out, LSTM 2x512, seq 100, batch 128, 20 epochs",
               lambda k: run_epoch(model, codes(k), p, optimizer), lambda k: run_epoch(model, codes(k), p, None),
               per_epoch(chars - n_val), per_epoch(n_val), 20)


def sentiment(raw: dict, device: torch.device) -> Job:
    p = params.entry(raw, "sentiment", "sentiment")
    p = type(p).model_validate(p.model_dump() | {"dataset": "course_reviews", "embedding_dim": 400, "hidden": 256,
                                                 "dropout": 0.5, "lr": 0.001, "epochs": 4})
    seed_everything(p.seed)
    vocab, seq = 74_074, 200  # the course's 74,072 words, + padding and unknown (pipeline.sentiment)
    model = build_model("sentiment", p, {"vocab_size": vocab, "seq_length": seq, "classes": ["negative", "positive"],
                                         "binary": True, "probabilistic": True}).to(device)
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    shuffle, gen = torch.Generator().manual_seed(p.seed), torch.Generator().manual_seed(0)

    def data(k: int) -> Split:  # on the device, as pipeline.sentiment puts them
        return random_split(k * p.batch_size, (seq,), 2, gen, high=vocab, dtype=torch.int64, device=device)

    return Job("reviews 20,000/2,500, embedding 400, LSTM 2x256, seq 200, batch 50, 4 epochs",
               lambda k: train_one_epoch(model, data(k), optimizer, p.batch_size, shuffle, BINARY, clip=p.clip),
               lambda k: evaluate(model, data(k), p.batch_size, BINARY), math.ceil(20_000 / p.batch_size),
               math.ceil(2_500 / p.batch_size), 4)


def style(raw: dict, device: torch.device) -> Job:
    from pipeline.schema.style import StyleParams
    from pipeline.style import stylize
    from pipeline.vision import torchvision_model

    p = params.entry(raw, "style", "style", StyleParams)
    p = type(p).model_validate(p.model_dump() | {"size": 400, "lr": 0.003})
    seed_everything(p.seed)
    vgg = torchvision_model("vgg19").features.to(device).eval().requires_grad_(False)
    gen = torch.Generator().manual_seed(0)
    # A square photo: the longer side is 400 px, so this is the most a course photo costs.
    content, style_img = (torch.rand(1, 3, 400, 400, generator=gen).to(device) for _ in range(2))

    return Job("VGG19, 400x400 px, 2000 steps, Adam lr 0.003",  # each call first runs VGG on both photos: FIXED_COST
               lambda k: stylize(content, style_img, vgg, type(p).model_validate(p.model_dump() | {"steps": k})),
               None, 2000, 0, 1)


MODELS: dict[str, Callable[[dict, torch.device], Job]] = {
    "mlp": mlp, "fashion_mlp": fashion_mlp, "cnn": cnn, "transfer": transfer, "charrnn": charrnn,
    "sentiment": sentiment, "style": style}
MIN_SECONDS = 0.5  # a light model runs more steps, until its timing lasts about this long
FIXED_COST = {"style"}  # each call pays a setup: per step = (time of 1 + k steps - time of 1 step) / k


def timed(run: Run, k: int, device: torch.device) -> tuple[float, float]:
    """(wall, this process's CPU seconds) of `run(k)`; on a shared CPU, the CPU time is an idle core's."""
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    run(k)
    sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(run: Run, steps: int, min_seconds: float, device: torch.device,
            fixed_cost: bool = False) -> tuple[float, float, int]:
    """(wall, CPU seconds per step, steps timed): a warm-up call, then `steps` steps (a light model: more,
    for about `min_seconds`, so its figure is not timer noise). With `fixed_cost`, the time of a 1-step
    call (also the warm-up) is subtracted from that of 1 + k steps."""
    base = timed(run, 1, device) if fixed_cost else (run(1), (0.0, 0.0))[1]
    k = steps
    t = timed(run, k + fixed_cost, device)
    if t[0] - base[0] < min_seconds:
        k = min(1000 * steps, math.ceil(k * min_seconds / max(t[0] - base[0], 1e-6)))
        t = timed(run, k + fixed_cost, device)
    return max(t[0] - base[0], 1e-9) / k, max(t[1] - base[1], 1e-9) / k, k


def baselines(device: torch.device) -> dict:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    import_s = time.perf_counter() - start
    wall, cpu = time.perf_counter(), time.process_time()
    gflops = matmul_gflops([(784, 512), (512, 512), (512, 10)], 256, device, torch.float32, 1.0)
    busy = (time.perf_counter() - wall) / max(time.process_time() - cpu, 1e-9)  # > 1: we waited for a core
    return {"import_torch_s": round(import_s, 2), "matmul_gflops": round(gflops, 1),
            "matmul_gflops_cpu_time": round(gflops * busy, 1),
            "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
            "matmul": "the MLP's 784-512-512-10 training matmuls at batch 256, float32, run bare (bench/ceiling.py)"}


def estimate(name: str, job: Job, steps: int, min_seconds: float, device: torch.device) -> dict:
    wall, cpu, k = measure(job.train, steps, min_seconds, device, name in FIXED_COST)
    val_wall, val_cpu, kv = measure(job.validate, steps, min_seconds, device) if job.validate else (0.0, 0.0, 0)
    row = {"model": name, "setting": job.setting, "train_steps_timed": k, "val_batches_timed": kv,
           "timing_batch_scale": job.scale, "steps_per_epoch": job.steps_per_epoch,
           "val_batches_per_epoch": job.val_batches, "epochs": job.epochs}
    for clock, step_s, val_s in (("wall", wall, val_wall), ("cpu", cpu, val_cpu)):
        step_s, val_s = step_s * job.scale, val_s * job.scale
        epoch_s = step_s * job.steps_per_epoch + val_s * job.val_batches
        row |= {f"train_step_s_{clock}": step_s, f"val_batch_s_{clock}": val_s,
                f"epoch_minutes_{clock}": epoch_s / 60, f"total_minutes_{clock}": epoch_s * job.epochs / 60}
    return row


def table(rows: list[dict], base: dict, device: str, threads: int) -> str:
    lines = [f"device {device}, {threads} torch thread(s); baselines this run: bare matmul {base['matmul_gflops']} "
             f"GFLOP/s ({base['matmul_gflops_cpu_time']} per CPU second), `import torch` {base['import_torch_s']} s; "
             f"load average {base['load_average_1min']} on {base['cpus']} CPUs at the start. wall / CPU: elapsed "
             "time / this process's CPU time (on a shared CPU, CPU time is the better guess for an idle core)",
             "| model | course setting | s/train step wall / CPU | steps/epoch | s/val batch wall / CPU "
             "| val batches/epoch | epochs | total min wall | total min CPU |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['model']} | {r['setting']} | {r['train_step_s_wall']:.4g} / {r['train_step_s_cpu']:.4g} | "
              f"{r['steps_per_epoch']:,} | {r['val_batch_s_wall']:.4g} / {r['val_batch_s_cpu']:.4g} | "
              f"{r['val_batches_per_epoch']:,} | {r['epochs']} | {r['total_minutes_wall']:,.1f} | "
              f"{r['total_minutes_cpu']:,.1f} |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS, metavar="M",
                    help=f"of: {' '.join(MODELS)} (default all)")
    ap.add_argument("--steps", type=int, default=1, help="timed steps per model, after one warm-up (default 1)")
    ap.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu", help="auto: the GPU if there is one")
    ap.add_argument("--json", type=Path, help="also write the rows and baselines here")
    args = ap.parse_args()
    if args.steps < 1:
        ap.error(f"--steps must be at least 1, got {args.steps}")
    raw = params.read_yaml(ROOT / "params.yaml")
    try:
        device = resolve_device(args.device, "--device")
    except ConfigError as e:  # cuda on a machine without one
        ap.error(str(e))
    configure(params.section(raw, "runtime", RuntimeParams), device.type, "--device")
    base = baselines(device)
    rows = []
    for name in args.models:
        start = time.perf_counter()
        rows.append(estimate(name, MODELS[name](raw, device), args.steps, MIN_SECONDS, device))
        print(f"  {name}: {rows[-1]['total_minutes_wall']:,.1f} min ({time.perf_counter() - start:.0f} s)", flush=True)
    print(table(rows, base, device.type, torch.get_num_threads()))
    if args.json:
        write_json(args.json, {"device": device.type, "threads": torch.get_num_threads(),
                               "torch": torch.__version__, "baselines": base, "rows": rows})


if __name__ == "__main__":
    main()
