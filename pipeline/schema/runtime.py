"""runtime (every computing stage) and accelerate (image training only): how stages compute."""

from __future__ import annotations

from typing import Literal

from pipeline.core.params import Section


class RuntimeParams(Section):
    deterministic: Literal[
        "auto", "on", "off"
    ]  # auto: on for the CPU, off on a GPU (pipeline/training/engine/runtime.py)


class AccelerateParams(Section):
    amp: Literal["auto", "bf16", "off"] = "auto"  # autocast of training steps; auto: bf16 on a GPU that has it
    channels_last: bool = True  # convolutional models on a GPU
    compile: bool = False  # torch.compile the model for training (minutes of compiling; pays off on long runs)
