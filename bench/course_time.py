"""How long would the course's real runs take here? (`python bench/course_time.py`)

For each model at the course's settings (docs/results.md, "The course's settings"; the `course:`
comments of params.yaml), times a few training steps and validation batches with the pipeline's own
code (model builders, `pipeline.training.engine.loop.train_one_epoch` with the image models' augmentation and
accelerate settings, `pipeline.training.charrnn.run_epoch`, `pipeline.training.style.stylize`) on seeded random
tensors of the real shapes, after a warm-up call, in the mode `pipeline.training.engine.runtime.configure` picks (a
CPU: deterministic, one thread; CUDA: bf16 autocast for image training, as `pipeline.training.engine.accelerate`).
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
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: `bench.` and `pipeline.` import from the root

from bench.ceiling import matmul_gflops  # noqa: E402
from bench.course_jobs import MODELS, Job, Run  # noqa: E402
from bench.throughput import sync  # noqa: E402
from pipeline.core import params  # noqa: E402
from pipeline.core.errors import ConfigError  # noqa: E402
from pipeline.core.io import write_json  # noqa: E402
from pipeline.schema.runtime import RuntimeParams  # noqa: E402
from pipeline.training.engine.runtime import configure, resolve_device  # noqa: E402

MIN_SECONDS = 0.5  # a light model runs more steps, until its timing lasts about this long
FIXED_COST = {"style"}  # each call pays a setup: per step = (time of 1 + k steps - time of 1 step) / k


def timed(run: Run, k: int, device: torch.device) -> tuple[float, float]:
    """(wall, this process's CPU seconds) of `run(k)`; on a shared CPU, the CPU time is an idle core's."""
    sync(device)
    wall, cpu = time.perf_counter(), time.process_time()
    run(k)
    sync(device)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(
    run: Run, steps: int, min_seconds: float, device: torch.device, fixed_cost: bool = False
) -> tuple[float, float, int]:
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
    return {
        "import_torch_s": round(import_s, 2),
        "matmul_gflops": round(gflops, 1),
        "matmul_gflops_cpu_time": round(gflops * busy, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "matmul": "the MLP's 784-512-512-10 training matmuls at batch 256, float32, run bare (bench/ceiling.py)",
    }


def estimate(name: str, job: Job, steps: int, min_seconds: float, device: torch.device) -> dict:
    wall, cpu, k = measure(job.train, steps, min_seconds, device, name in FIXED_COST)
    val_wall, val_cpu, kv = measure(job.validate, steps, min_seconds, device) if job.validate else (0.0, 0.0, 0)
    row = {
        "model": name,
        "setting": job.setting,
        "train_steps_timed": k,
        "val_batches_timed": kv,
        "timing_batch_scale": job.scale,
        "steps_per_epoch": job.steps_per_epoch,
        "val_batches_per_epoch": job.val_batches,
        "epochs": job.epochs,
    }
    for clock, step_s, val_s in (("wall", wall, val_wall), ("cpu", cpu, val_cpu)):
        step_s, val_s = step_s * job.scale, val_s * job.scale
        epoch_s = step_s * job.steps_per_epoch + val_s * job.val_batches
        row |= {
            f"train_step_s_{clock}": step_s,
            f"val_batch_s_{clock}": val_s,
            f"epoch_minutes_{clock}": epoch_s / 60,
            f"total_minutes_{clock}": epoch_s * job.epochs / 60,
        }
    return row


def table(rows: list[dict], base: dict, device: str, threads: int) -> str:
    lines = [
        f"device {device}, {threads} torch thread(s); baselines this run: bare matmul {base['matmul_gflops']} "
        f"GFLOP/s ({base['matmul_gflops_cpu_time']} per CPU second), `import torch` {base['import_torch_s']} s; "
        f"load average {base['load_average_1min']} on {base['cpus']} CPUs at the start. wall / CPU: elapsed "
        "time / this process's CPU time (on a shared CPU, CPU time is the better guess for an idle core)",
        "| model | course setting | s/train step wall / CPU | steps/epoch | s/val batch wall / CPU "
        "| val batches/epoch | epochs | total min wall | total min CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['model']} | {r['setting']} | {r['train_step_s_wall']:.4g} / {r['train_step_s_cpu']:.4g} | "
        f"{r['steps_per_epoch']:,} | {r['val_batch_s_wall']:.4g} / {r['val_batch_s_cpu']:.4g} | "
        f"{r['val_batches_per_epoch']:,} | {r['epochs']} | {r['total_minutes_wall']:,.1f} | "
        f"{r['total_minutes_cpu']:,.1f} |"
        for r in rows
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--models",
        nargs="+",
        default=list(MODELS),
        choices=MODELS,
        metavar="M",
        help=f"of: {' '.join(MODELS)} (default all)",
    )
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
        write_json(
            args.json,
            {
                "device": device.type,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "baselines": base,
                "rows": rows,
            },
        )


if __name__ == "__main__":
    main()
