"""`make bench`'s table: bench/results.json (this run's, or a committed one) as Markdown rows,
each figure beside its baseline and target."""

from __future__ import annotations

VARIANTS = {"bf16": ", `accelerate.amp: bf16`", "compile": ", `accelerate.compile: true`"}


def variant_of(row: dict) -> str | None:
    """A throughput row's setting beside the defaults (results before `variant` had `amp` only)."""
    return row.get("variant", row["amp"])


def table(results: dict) -> str:
    lines = ["| measure | pipeline | baseline (same run) | ratio | target |", "|---|---|---|---|---|"]
    for r in results["throughput"]:
        target = "" if variant_of(r) else "≥ 10× at its own batch" if r["own_batch"] else \
            "≥ 3× at the same batch" if r["batch"] == r["course_batch"] else ""
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
