"""`make bench`'s table: bench/results.json (this run's, or a committed one) as Markdown rows,
each figure beside its baseline and target."""

from __future__ import annotations

VARIANTS = {"bf16": ", `accelerate.amp: bf16`", "compile": ", `accelerate.compile: true`"}
HEADER = ["| measure | pipeline | baseline (same run) | ratio | target |", "|---|---|---|---|---|"]
RUNTIMES = {
    "eager": "eager Python",
    "torchscript": "TorchScript from Python",
    "cpp": "C++ LibTorch",
    "onnxruntime": "ONNX Runtime",
}  # bench/inference.py's, in its order: eager is the baseline


def variant_of(row: dict) -> str | None:
    """A throughput row's setting beside the defaults (results before `variant` had `amp` only)."""
    return row.get("variant", row["amp"])


def table(results: dict) -> str:
    lines = list(HEADER)
    for r in results["throughput"]:
        target = (
            ""
            if variant_of(r)
            else "≥ 10× at its own batch"
            if r["own_batch"]
            else "≥ 3× at the same batch"
            if r["batch"] == r["course_batch"]
            else ""
        )
        lines.append(
            f"| {r['model']} train step, batch {r['batch']}{' (its own)' if r['own_batch'] else ''}"
            f"{VARIANTS[variant_of(r)] if variant_of(r) else ''} | "
            f"{r['samples_per_s']:,.0f} samples/s | course loop, batch {r['course_batch']}: "
            f"{r['course_samples_per_s']:,.0f} samples/s | {r['ratio']:.1f}× | {target} |"
        )
    for r in results["limit"]:
        lines.append(
            f"| mlp training, batch {r['batch']} ({r['dtype']}) | {r['achieved_gflops']:.1f} GFLOP/s | "
            f"the same matmuls bare: {r['matmul_gflops']:.1f} GFLOP/s | {r['fraction']:.0%} | ≥ 40 % |"
        )
    if c := results.get("bf16_ceiling"):
        for r in results["gpu_fraction"]:
            lines.append(
                f"| {r['model']} training, batch {r['batch']} | {r['achieved_tflops']:.2f} TFLOP/s | "
                f"bf16 matmul {c['n']}³: {c['tflops']:.0f} TFLOP/s | {r['fraction']:.2%} | |"
            )
    s = results["stage_overhead"]
    lines.append(
        f"| slowest stage start ({s['worst_stage']}) | {s['stages_s'][s['worst_stage']]:.2f} s | "
        f"`import torch`: {s['import_torch_s']:.2f} s | +{s['worst_extra_s']:.2f} s | ≤ +1 s |"
    )
    if w := results.get("pipeline"):
        lines.append(
            f"| `dvc repro` from scratch, one stage at a time | {w['total_s']:.0f} s, peak RSS "
            f"{w['peak_rss_mb']:.0f} MB | | | ≤ 180 s, ≤ 2 GB |"
        )
        if par := w.get("parallel"):
            lines.append(
                f"| `make repro` from scratch, {par['jobs']} stages at a time | {par['total_s']:.0f} s, peak RSS "
                f"{par['peak_rss_mb']:.0f} MB ({par['peak_rss_all_mb']:.0f} MB all processes) | "
                f"`dvc repro`: {w['total_s']:.0f} s | {w['total_s'] / par['total_s']:.1f}× faster"
                f"{'' if par['same_outputs_as_dvc_repro'] else ', OUTPUTS DIFFER'} | ≤ 180 s, ≤ 2 GB |"
            )
        lines.append(
            f"| no-op `dvc repro` | {w['noop_s']:.2f} s | trivial pipeline: {w['trivial_noop_s']:.2f} s | "
            f"{w['noop_s'] / w['trivial_noop_s']:.1f}× | ≤ 1.5× |"
        )
        if par:
            lines.append(
                f"| no-op `make repro` (its `dvc status`) | {par['noop_s']:.2f} s | trivial pipeline: "
                f"{w['trivial_noop_s']:.2f} s | {par['noop_s'] / w['trivial_noop_s']:.1f}× | |"
            )
    if a := results.get("accuracy"):
        reached = (
            f"{a['mlp_seconds_to_target']} s ({a['mlp_epochs']} epochs)"
            if a["mlp_seconds_to_target"] is not None
            else f"not reached in {a['mlp_epochs']} epochs (last val {a['mlp_val_accuracy']:.2%})"
        )
        lines.append(
            f"| mlp to {a['target']:.0%} validation accuracy, MNIST-format data ({a['train']:,} training, "
            f"{a['val']:,} validation images) | {reached} | SVC fit: {a['svc_fit_seconds']:.2f} s "
            f"(val {a['svc_val_accuracy']:.2%}) | | |"
        )
    if (c := results.get("inference", {}).get("cold_predict")) and "skipped" not in c:
        lines += cold_predict_rows(c)
    return "\n".join(lines)


def cold_predict_rows(c: dict) -> list[str]:
    """A cold `predict` on one image (bench/inference.py), as rows of the table above."""
    plain = f"plain torch script: {c['plain_torch_s']:.2f} s"
    return [
        f"| cold `predict` on one image ({c['model']}, ONNX Runtime; imports torch: "
        f"{'**yes**' if c['predict_onnx_imports_torch'] else 'no'}) | {c['predict_onnx_s']:.2f} s | {plain} | "
        f"{_faster(c['plain_torch_s'] / c['predict_onnx_s'])} | well under 1 s, without torch |",
        f"| cold `predict --runtime torch` on one image ({c['model']}) | {c['predict_torch_s']:.2f} s | {plain} | "
        f"{_faster(c['plain_torch_s'] / c['predict_torch_s'])} | |",
    ]


def _faster(ratio: float) -> str:
    return f"{ratio:.1f}× faster" if ratio >= 1.05 else f"{1 / ratio:.1f}× slower" if ratio <= 1 / 1.05 else "the same"


def _per_call(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs" if seconds < 1e-3 else f"{seconds * 1e3:,.1f} ms"


def inference_table(inf: dict) -> str:
    """Part 6 (bench/inference.py's results): per model and batch, each runtime's latency per call
    (batch 1) or samples/s (larger batches), and its speed against eager Python in the same run."""
    if not inf["rows"]:
        return f"inference: not measured ({inf.get('note', 'no models')})"
    lines = [
        f"| model, batch ({inf['threads']} thread{'s' if inf['threads'] > 1 else ''}, CPU) | "
        + " | ".join(f"{name}{' (baseline)' if key == 'eager' else ''}" for key, name in RUNTIMES.items())
        + " |",
        "|---" * (len(RUNTIMES) + 1) + "|",
    ]
    for r in inf["rows"]:
        cells = []
        for key in RUNTIMES:
            s, ratio = r["seconds_per_call"].get(key), r["vs_eager"].get(key)
            if s is None:
                cells.append("—")
                continue
            cell = _per_call(s) if r["batch"] == 1 else f"{r['samples_per_s'][key]:,.0f}/s"
            cells.append(cell + (f" ({ratio:.2f}×)" if key != "eager" and ratio is not None else ""))
        what = "latency per call" if r["batch"] == 1 else "samples per second"
        lines.append(f"| {r['model']}, batch {r['batch']} ({what}) | " + " | ".join(cells) + " |")
    if (c := inf.get("cold_predict")) and "skipped" in c:
        lines.append(f"\ncold `predict`: not measured ({c['skipped']})")
    return "\n".join(lines)
