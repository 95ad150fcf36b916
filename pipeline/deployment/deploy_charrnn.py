"""The deployment check of the character model: logits from the C++ program and ONNX Runtime
against the eager model's, and text generated from C++ against Python's (pipeline.deployment.deploy checks
the classifiers)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from pipeline.core.io import write_json
from pipeline.deployment import cpp
from pipeline.deployment.deploy import check_diff
from pipeline.deployment.export import FORMATS, max_abs_diff
from pipeline.models.charrnn import sample
from pipeline.schema.charrnn import Sampling
from pipeline.weights.checkpoint import load_checkpoint

log = logging.getLogger(__name__)


def check_charrnn(
    checkpoint: str | Path,
    export_dir: str | Path,
    tokens: dict[str, torch.Tensor],
    binary: str | Path,
    sampling: Sampling,
    atol: float,
    metrics_json: str | Path,
) -> dict:
    """The character model from C++: logits on windows of the validation text, and text generated
    with the sample section's settings and greedily, each compared with Python's."""
    export_dir = Path(export_dir)
    model, ckpt = load_checkpoint(checkpoint)
    model.eval()
    chars = ckpt["spec"]["chars"]
    val = tokens["val"].long()
    rows, length = 4, 64
    x = val[: rows * length].view(rows, length) if len(val) >= rows * length else val[None, :]
    h, c = model.init_state(len(x))
    with torch.no_grad():
        eager = model(x, h, c)
    ts = export_dir / "model.ts"
    from_cpp = cpp.run_model(binary, ts, [x, h, c], len(x))
    report: dict[str, Any] = {
        "cpp": check_diff("cpp", max_abs_diff(lambda: eager, lambda: tuple(from_cpp), [()]), atol, ts)
    }
    s = sampling
    for label, top_k in (("sampled", s.top_k), ("greedy", 1)):
        python = sample(model, chars, s.prime, s.length, top_k, torch.Generator().manual_seed(s.seed))
        text = cpp.generate(binary, ts, s.prime, s.length, top_k, s.seed)
        report["cpp"][f"same_{label}_text"] = text == python
        if text != python:
            log.warning("C++ %s text differs from Python's:\n%s\n---\n%s", label, text, python)
    if (export_dir / "model.onnx").exists():  # one character per call, as text generation feeds it
        run = FORMATS["onnx"][2](export_dir / "model.onnx")
        worst, sh, sc, oh, oc = 0.0, h, c, h, c
        for t in range(min(length, 32)):
            step = x[:, t : t + 1]
            with torch.no_grad():
                ref, sh, sc = model(step, sh, sc)
            got, oh, oc = run(step, oh, oc)
            worst = max(worst, max_abs_diff(lambda: (ref, sh, sc), lambda: (got, oh, oc), [()]))
        report["onnxruntime"] = check_diff("onnxruntime", worst, atol, export_dir / "model.onnx")
    write_json(metrics_json, report)
    log.info("%s: %s", ckpt["model"], report)
    return report
