"""Checkpoints that carry everything needed to rebuild and use the model: the unwrapped model's
and optimizer's state, the epoch, the params and data facts (`spec`) that made it, and
whatever the family adds (class names, normalization, vocabulary, augmentation policy)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pipeline.core.errors import ConfigError, DataError, one_line, rerun_hint
from pipeline.core.io import load_verified, save_torch
from pipeline.models import rebuild

FORMAT = 3  # 3: sampling settings left the char-RNN's params (they are the sample section's)


def to_cpu(obj: Any) -> Any:
    """Copy tensors (nested in dicts/lists) to the CPU, so a GPU-trained checkpoint loads anywhere."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def save_checkpoint(
    path: str | Path,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    epoch: int,
    metrics: dict[str, float],
    meta: dict[str, Any],
) -> None:
    """`meta` must hold model (name), arch, params (dict) and spec; anything else is kept as is."""
    save_torch(
        {
            "format": FORMAT,
            "epoch": epoch,
            "metrics": metrics,
            **meta,
            "model_state": to_cpu(model.state_dict()),
            "optimizer_state": to_cpu(optimizer.state_dict()) if optimizer is not None else None,
        },
        path,
    )


def load_checkpoint(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model a checkpoint describes, in eval mode on the CPU, and return it with the
    checkpoint's contents."""
    try:
        ckpt = load_verified(path, "train")
        if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
            raise ValueError(f"format {ckpt.get('format') if isinstance(ckpt, dict) else None!r}, expected {FORMAT}")
        model = rebuild(ckpt["arch"], ckpt["params"], ckpt["spec"])
        model.load_state_dict(ckpt["model_state"])
    except (
        OSError,
        RuntimeError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        EOFError,
        pickle.UnpicklingError,
        ConfigError,
    ) as err:
        raise DataError(f"{path}: not a usable checkpoint ({one_line(err)}); {rerun_hint(path, 'train')}") from None
    bad = next(
        (name for name, t in model.state_dict().items() if t.is_floating_point() and not torch.isfinite(t).all()), None
    )
    if bad is not None:
        raise DataError(
            f"{path}: weights {bad} hold NaN or infinite values (training diverged?); "
            f"{rerun_hint(path, 'train')} with a lower learning rate"
        )
    return model.eval(), ckpt
