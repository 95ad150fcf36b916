"""Loading the exported files: model.ts with torch.jit, model.onnx in an ONNX Runtime session. The
export check, the deployment checks, the predictions picture and `predict` load them here, and
neither loader imports its runtime before it is called (`predict` on ONNX never loads torch)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def load_torchscript(path: str | Path, device: str = "cpu") -> Any:
    """model.ts on `device`. torch.jit is deprecated upstream in favour of torch.export; model.ts is
    still the course's format, and the one the C++ program loads, so the warning is silenced."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path), map_location=device)


def onnx_session(path: str | Path, providers: tuple[str, ...] = ("CPUExecutionProvider",)) -> Any:
    """model.onnx in an ONNX Runtime session on `providers` (in order of preference), logging errors
    only: its warnings are about the runtime, not about the model or your input."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=list(providers))
