"""The deployment check: each exported model, run by its consumers outside PyTorch's eager mode (the
C++ program on model.ts, ONNX Runtime on model.onnx), on the test split, compared with the eager
model. Records each consumer's accuracy beside the eager model's and the largest |difference| of
the outputs, or its bound where the consumer's kernels cannot be pinned (check_diff); a consumer
further than export.atol from the eager model fails the stage."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import torch

from pipeline.core.errors import ExportError
from pipeline.core.io import write_json
from pipeline.core.store import Split, relabel
from pipeline.deployment import cpp
from pipeline.deployment.export import FORMATS, max_abs_diff
from pipeline.models import as_float, predict
from pipeline.weights.checkpoint import load_checkpoint

log = logging.getLogger(__name__)
# A deploy stage's command line (deploy@, deploy_charrnn@): what it checks, and the program that runs it,
# as (option, help) pairs for pipeline.core.cli.arguments; the data it runs them on comes between.
CHECKED = (("checkpoint", "trained checkpoint (the eager model)"), ("export", "export folder (model.ts, model.onnx)"))
RUN_BY = (("program", "the C++ program (stage build_cpp)"), ("metrics", "output: metrics (JSON)"))
UNPINNED = {"onnxruntime"}  # consumers whose CPU kernels cannot be pinned (check_diff)


def _decide(outputs: torch.Tensor) -> torch.Tensor:
    """Predicted class: argmax of logits, or score > 0 for a one-score binary model."""
    return outputs.argmax(-1) if outputs.ndim == 2 else (outputs > 0).long()


def _accuracy(outputs: torch.Tensor, labels: torch.Tensor) -> float:
    return round((_decide(outputs) == labels).double().mean().item(), 6)


def check_diff(name: str, diff: float, atol: float, where: Path) -> dict[str, float]:
    """What a metrics file records of a consumer's largest |difference| from the eager model (the
    figure itself goes to the stage's log; past export.atol the stage fails). LibTorch in the C++
    program runs the kernels `pipeline` pins, so its figure (0.0) is the same on every machine with
    AVX2 and is recorded. ONNX Runtime picks its kernels by CPU and has no switch to pin them: its last
    digits differ between machines (4.77e-06 on one AMD EPYC, 6.68e-06 on another), and any rounding
    of them has edges that a figure near one would cross, so it records the bound it passed."""
    if not diff <= atol:
        raise ExportError(
            f"{name}: {where} gives outputs {diff:.3g} away from the eager model's > "
            f"export.atol={atol:g}; rerun its export (dvc repro -f) or look for a changed runtime"
        )
    log.info("%s: largest |difference| from the eager model %.3g (export.atol %g)", name, diff, atol)
    return {"max_abs_diff_at_most": atol} if name in UNPINNED else {"max_abs_diff": float(f"{diff:.3g}")}


def _onnx_outputs(export_dir: Path, inputs: torch.Tensor, batch: int) -> torch.Tensor | None:
    if not (export_dir / "model.onnx").exists():
        return None
    run = FORMATS["onnx"][2](export_dir / "model.onnx")
    return torch.cat([run(inputs[i : i + batch]) for i in range(0, len(inputs), batch)])


def check_classifier(
    checkpoint: str | Path,
    export_dir: str | Path,
    test: Split,
    binary: str | Path,
    atol: float,
    batch_size: int,
    metrics_json: str | Path,
) -> dict:
    """Run model.ts (the C++ program `binary`) and model.onnx (ONNX Runtime) on `test` beside the eager checkpoint;
    write and return each one's accuracy and difference. Past `atol`: ExportError."""
    export_dir = Path(export_dir)
    model, ckpt = load_checkpoint(checkpoint)
    if ckpt.get("label_map"):
        test, _ = relabel(test, ckpt["dataset_classes"], ckpt["label_map"], "label_map")
    inputs = as_float(test.inputs)
    eager = predict(model, inputs, batch_size)
    report: dict[str, Any] = {"samples": len(test), "eager": {"accuracy": _accuracy(eager, test.labels)}}
    consumers: dict[str, tuple[Path, Callable[[], torch.Tensor | None]]] = {
        "cpp": (export_dir / "model.ts", lambda: cpp.run_model(binary, export_dir / "model.ts", inputs, batch_size)),
        "onnxruntime": (export_dir / "model.onnx", lambda: _onnx_outputs(export_dir, inputs, batch_size)),
    }
    for name, (path, run) in consumers.items():
        outputs = run()
        if outputs is None:  # the exporter could not write this format; metadata.json says why
            report[name] = {"skipped": f"no {path.name}"}
            continue
        diff = max_abs_diff(lambda: eager, lambda: outputs, [()])
        report[name] = {"accuracy": _accuracy(outputs, test.labels)} | check_diff(name, diff, atol, path)
    write_json(metrics_json, report)
    log.info("%s: %s", ckpt["model"], report)
    return report
