"""Seeds, devices and determinism: one place that decides where and how reproducibly code runs."""

from __future__ import annotations

import logging
import os
import random

import numpy as np
import torch

from pipeline.core.errors import ConfigError
from pipeline.schema.runtime import RuntimeParams

log = logging.getLogger(__name__)


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


def configure(p: RuntimeParams, device_spec: str, key: str) -> bool:
    """Apply runtime params before a stage computes; returns whether it runs deterministically.
    `key` names the device setting in errors (e.g. train.cnn.device).

    On a CPU, deterministic means single-threaded: MKL's matrix products split their sums by
    thread, so the same training gives different weights with 1 and 2 threads (bench/determinism.py
    measures it; switching oneDNN off is not enough). On a GPU it means cuDNN's and cuBLAS's
    deterministic modes, and ops without a deterministic kernel raise an error. Otherwise torch
    uses as many threads as OMP_NUM_THREADS says (make repro sets it per stage), else one per core:
    how many cores to use is the machine's business, not a param that could make stages stale."""
    device = resolve_device(device_spec, key)
    on = p.deterministic == "on" or (p.deterministic == "auto" and device.type == "cpu")
    if on:
        torch.set_num_threads(1)
        if device.type == "cuda":  # (on a CPU this would import torch's compiler for nothing)
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
    log.info("runtime: %s, %d thread(s), device %s", "deterministic" if on else "fast", torch.get_num_threads(), device)
    return on
