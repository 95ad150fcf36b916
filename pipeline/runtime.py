"""Seeds and devices: one place that decides where and how reproducibly code runs."""

from __future__ import annotations

import random

import numpy as np
import torch

from pipeline.errors import ConfigError


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices). Shuffles and augmentation also get their own
    seeded generators, so this only guards code that uses the global ones (weight init)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(spec: str, key: str) -> torch.device:
    """`auto` -> the GPU when one is present, else the CPU; an explicit device must exist."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"{key}: {spec!r} asked for, but this machine has no CUDA GPU; use auto or cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"{key}: 'mps' asked for, but it is not available here; use auto or cpu")
    return device
