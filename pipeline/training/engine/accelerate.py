"""How a model and its data go on the device, and what runs fast there.

On a CPU everything stays as it is. On CUDA: bf16 autocast for the training steps
(`accelerate.amp`), channels_last for convolutional models (`accelerate.channels_last`), whole splits
kept on the GPU when they fit (else in pinned host memory, each batch copied without blocking),
and `torch.compile` when `accelerate.compile` asks for it. Evaluation and export stay in float32."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from pipeline.core.store import Split
from pipeline.schema.runtime import AccelerateParams


@dataclass(frozen=True)
class Accelerator:
    """The settings for one device; `autocast` is the dtype of training steps (None: float32)."""

    device: torch.device
    autocast: torch.dtype | None = None
    channels_last: bool = False
    compile: bool = False

    @classmethod
    def for_device(cls, device: torch.device, p: AccelerateParams, conv: bool) -> "Accelerator":
        """The settings for `device`: bf16 autocast as `p.amp` asks (auto: CUDA with bf16), channels_last for
        convolutional models on CUDA, compile as asked."""
        cuda = device.type == "cuda"
        bf16 = p.amp == "bf16" or (p.amp == "auto" and cuda and torch.cuda.is_bf16_supported())
        return cls(device, torch.bfloat16 if bf16 else None, cuda and conv and p.channels_last, p.compile)

    def prepare_model(self, model: nn.Module) -> nn.Module:
        """`model` moved onto the device, in channels_last memory format when that is set."""
        model.to(self.device)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        return model

    def runner(self, model: nn.Module) -> nn.Module:
        """What training calls: `model` itself, or compiled (save `model`, not this)."""
        return torch.compile(model) if self.compile else model

    def place(self, split: Split) -> Split:
        """A split where training reads it: on the device when it fits in half the free memory,
        else pinned in host memory (labels always on the device: they are small)."""
        if self.device.type != "cuda":
            return split
        free, _ = torch.cuda.mem_get_info(self.device)
        nbytes = split.inputs.numel() * split.inputs.element_size()
        inputs = split.inputs.to(self.device) if nbytes < free / 2 else split.inputs.pin_memory()
        return Split(inputs, split.labels.to(self.device))

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        """A batch onto the device: no-op when it is there, an asynchronous copy from pinned memory otherwise."""
        if x.device == self.device:
            return x
        return (x.pin_memory() if self.device.type == "cuda" else x).to(self.device, non_blocking=True)

    def prepare_input(self, x: torch.Tensor) -> torch.Tensor:
        """A 4-D batch in channels_last memory format when that is set; anything else unchanged."""
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 else x
