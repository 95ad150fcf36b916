"""Checkpoints that carry everything needed to rebuild and use the model: the unwrapped model's
and optimizer's state, the epoch, the params that made it, class names and normalization."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from pipeline.config import ARCH_PARAMS
from pipeline.errors import DataError
from pipeline.io import load_torch, save_torch
from pipeline.models import ImageClassifier, build_model

FORMAT = 1


def to_cpu(obj: Any) -> Any:
    """Copy tensors (nested in dicts/lists) to the CPU, so a GPU-trained checkpoint loads anywhere."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def save_checkpoint(path: str | Path, *, model: ImageClassifier, optimizer: torch.optim.Optimizer,
                    epoch: int, metrics: dict[str, float], meta: dict[str, Any]) -> None:
    save_torch({"format": FORMAT, "epoch": epoch, "metrics": metrics, **meta,
                "model_state": to_cpu(model.state_dict()),
                "optimizer_state": to_cpu(optimizer.state_dict())}, path)


def load_checkpoint(path: str | Path) -> tuple[ImageClassifier, dict[str, Any]]:
    """Rebuild the model a checkpoint describes, in eval mode on the CPU, and return it with the
    checkpoint's contents."""
    try:
        ckpt = load_torch(path)
        if ckpt.get("format") != FORMAT:
            raise ValueError(f"format {ckpt.get('format')!r}, expected {FORMAT}")
        params = ARCH_PARAMS[ckpt["arch"]].model_validate(ckpt["params"])
        model = build_model(ckpt["arch"], params, ckpt["input_shape"], ckpt["classes"], ckpt["mean"], ckpt["std"])
        model.load_state_dict(ckpt["model_state"])
    except (OSError, RuntimeError, KeyError, ValueError, AttributeError) as err:
        raise DataError(f"{path}: not a usable checkpoint ({err}); rerun its train stage") from None
    return model.eval(), ckpt
