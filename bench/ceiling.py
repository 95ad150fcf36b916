"""`make bench`, 2: the distance to the machine's limit. The MLP's achieved GFLOP/s while training
over the same matrix products run bare; on a GPU, the bf16 matmul ceiling and each throughput
row's TFLOP/s against it."""

from __future__ import annotations

import torch

from bench.params import BenchParams
from bench.report import variant_of
from bench.throughput import rate
from pipeline.training.engine.accelerate import Accelerator


def mlp_layers(P: BenchParams, in_features: int = 784) -> list[tuple[int, int]]:
    widths = [in_features, *P.model("mlp").hidden, 10]
    return list(zip(widths[:-1], widths[1:]))


def train_flops_per_sample(layers: list[tuple[int, int]]) -> int:
    """Forward (2·in·out per layer), weight gradients (2·in·out) and input gradients (2·in·out,
    all layers but the first, whose input needs none)."""
    return sum(2 * i * o * (2 if k == 0 else 3) for k, (i, o) in enumerate(layers))


def matmul_gflops(
    layers: list[tuple[int, int]], batch: int, device: torch.device, dtype: torch.dtype, seconds: float
) -> float:
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


def limit(P: BenchParams, rows: list[dict], device: torch.device, seconds: float) -> list[dict]:
    layers = mlp_layers(P)
    flops = train_flops_per_sample(layers)
    out = []
    dtype = torch.bfloat16 if Accelerator.for_device(device, P.accelerate, conv=False).autocast else torch.float32
    for row in rows:
        if row["model"] != "mlp" or row["batch"] < 256 or variant_of(row):
            continue
        achieved = row["samples_per_s"] * flops / 1e9
        ceiling = matmul_gflops(layers, row["batch"], device, dtype, seconds)
        out.append(
            {
                "batch": row["batch"],
                "dtype": str(dtype).removeprefix("torch."),
                "flops_per_sample": flops,
                "achieved_gflops": round(achieved, 2),
                "matmul_gflops": round(ceiling, 2),
                "fraction": round(achieved / ceiling, 3),
            }
        )
        print(
            f"  mlp batch {row['batch']}: {achieved:.1f} GFLOP/s training, {ceiling:.1f} bare matmul "
            f"-> {achieved / ceiling:.0%}",
            flush=True,
        )
    return out


def peak_matmul_tflops(device: torch.device, seconds: float, n: int = 8192) -> dict:
    """The GPU's bf16 ceiling: an n x n x n bf16 matrix product on random data, TFLOP/s."""
    gen = torch.Generator(device).manual_seed(0)
    a, b = (torch.randn(n, n, device=device, dtype=torch.bfloat16, generator=gen) for _ in range(2))

    def product() -> int:
        a @ b
        return 1

    products = rate(product, seconds, device)
    tflops = products * 2 * n**3 / 1e12
    print(f"  bf16 matmul {n}x{n}x{n}: {tflops:.0f} TFLOP/s", flush=True)
    return {"n": n, "dtype": "bfloat16", "tflops": round(tflops, 1)}


def against_ceiling(rows: list[dict], ceiling: dict) -> list[dict]:
    """Each throughput row's achieved TFLOP/s over the bf16 ceiling."""
    return [
        {
            "model": r["model"],
            "batch": r["batch"],
            "achieved_tflops": round(r["achieved_gflops"] / 1e3, 3),
            "ceiling_tflops": ceiling["tflops"],
            "fraction": round(r["achieved_gflops"] / 1e3 / ceiling["tflops"], 5),
        }
        for r in rows
    ]
