"""How a model trains, decided once: the `Runner` a training stage builds from its params, and that
every family's loop asks.

It holds the device, the thread count and deterministic modes (pipeline.training.engine.runtime), the
precision, memory format and compile of training steps (pipeline.training.engine.accelerate), and, under
`torchrun`, this process's place in the world (pipeline.training.engine.distributed): the shard of each
epoch's order, the gradient averaging, the final weights check, and that rank 0 alone writes.
The families keep only what is theirs: their batches and their epoch.

Families that train on minibatches run on every rank (`Runner.start`); style transfer and the
tabular models (the perceptron trick, restarts of seconds) stay in one process: started under a
launcher that asks for more, rank 0 says so in one line and trains alone, the other ranks exit."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from pipeline.core.errors import ConfigError
from pipeline.schema.runtime import AccelerateParams, RuntimeParams
from pipeline.training.engine.accelerate import Accelerator
from pipeline.training.engine.distributed import SINGLE, World, all_sum, check_in_sync, joined, wrap
from pipeline.training.engine.runtime import configure, resolve_device, seed_everything

if TYPE_CHECKING:
    from pipeline.core.store import Split

log = logging.getLogger(__name__)

FLOAT32 = AccelerateParams(amp="off", channels_last=False, compile=False)  # families without accelerate params


class OtherRank(SystemExit):
    """Raised on ranks other than 0 of a family that trains in one process: they end, successfully."""

    def __init__(self) -> None:
        super().__init__(0)


@dataclass
class Runner:
    """Where and how one training runs; `key` names its params entry (e.g. train.cnn) in errors.
    `accel` holds the settings for the model `model` prepared (channels_last is for convolutions)."""

    key: str
    seed: int
    world: World
    accelerate: AccelerateParams
    accel: Accelerator

    @classmethod
    @contextlib.contextmanager
    def start(
        cls,
        key: str,
        device: str,
        seed: int,
        runtime: RuntimeParams | None = None,
        accelerate: AccelerateParams | None = None,
        ranks: bool = True,
    ) -> Iterator[Runner]:
        """The runner for params entry `key` (its `device` and `seed`), for a `with` block: threads and
        deterministic modes as `runtime` says (None: as they are), global RNGs seeded, and under
        torchrun the world joined (`ranks`: the family trains on every rank) and left at the end.
        `accelerate`: the image families' settings; None trains in float32 as it is."""
        if not ranks and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            rank = int(os.environ.get("RANK", "0"))
            if rank != 0:
                raise OtherRank()
            log.info("%s trains in one process: rank 0 trains alone, the other ranks of the launcher exit", key)
        if runtime is not None:
            configure(runtime, device, f"{key}.device")
        seed_everything(seed)
        resolved = resolve_device(device, f"{key}.device")
        if not ranks:
            yield cls._made(key, seed, SINGLE, resolved, accelerate)
            return
        with joined(resolved) as world:
            yield cls._made(key, seed, world, world.device(resolved), accelerate)

    @classmethod
    def local(
        cls, key: str, seed: int, device: str | torch.device = "cpu", accelerate: AccelerateParams | None = None
    ) -> Runner:
        """A one-process runner on `device` (a params value such as auto, or a device) with the
        global RNGs seeded, threads left as they are (tests, benchmarks, notebooks)."""
        seed_everything(seed)
        where = device if isinstance(device, torch.device) else resolve_device(device, f"{key}.device")
        return cls._made(key, seed, SINGLE, where, accelerate)

    @classmethod
    def _made(cls, key: str, seed: int, world: World, device: torch.device, p: AccelerateParams | None) -> Runner:
        p = p or FLOAT32
        return cls(key, seed, world, p, Accelerator.for_device(device, p, conv=False))

    @property
    def device(self) -> torch.device:
        """Where this rank trains (its own GPU under torchrun, the CPU shared)."""
        return self.accel.device

    @property
    def autocast(self) -> torch.dtype | None:
        """The dtype of training steps (bf16 on a GPU that has it, for image models), None for float32."""
        return self.accel.autocast

    def model(self, model: nn.Module) -> nn.Module:
        """`model` on the device (channels_last when it has convolutions and that is set): the module to
        save, validate and export."""
        conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
        self.accel = Accelerator.for_device(self.device, self.accelerate, conv=conv)
        return self.accel.prepare_model(model)

    def trainer(self, model: nn.Module) -> nn.Module:
        """What training steps call: `model` under DDP when several ranks train (DDP broadcasts rank 0's
        weights; then each rank draws its own dropout masks), compiled when that is set."""
        wrapped = wrap(model, self.world, self.device)
        if self.world.active:
            torch.manual_seed(self.seed + self.world.rank)
        return self.accel.runner(wrapped)

    def generator(self, seed: int) -> torch.Generator:
        """A generator for this rank's random draws (augmentation): `seed` on rank 0, seed + rank elsewhere."""
        return torch.Generator().manual_seed(seed + self.world.rank)

    def place(self, split: Split) -> Split:
        """A split where training reads it (pipeline.training.engine.accelerate)."""
        return self.accel.place(split)

    def rows(self, count: int, what: str) -> slice:
        """This rank's block of `count` parallel rows (the char-RNN's text rows): every rank an equal,
        contiguous share. `what` names the params key of `count` in the error when it does not divide."""
        if count % self.world.size:
            raise ConfigError(
                f"{what}: {count} rows do not split evenly over {self.world.size} ranks; "
                f"make it a multiple of {self.world.size}"
            )
        per = count // self.world.size
        return slice(self.world.rank * per, (self.world.rank + 1) * per)

    def all_sum(self, t: torch.Tensor) -> torch.Tensor:
        """`t` summed over every rank (itself in one process)."""
        return all_sum(t, self.world)

    def finish(self, model: nn.Module) -> str:
        """The weights' digest, after checking that every rank ended with the same weights."""
        return check_in_sync(model, self.world)

    def describe(self) -> str:
        """How it runs, for the stage's log: device, precision, ranks."""
        return (
            f"device {self.device}"
            + (f", {self.autocast} autocast" if self.autocast else "")
            + (f", {self.world.size} ranks" if self.world.active else "")
        )
