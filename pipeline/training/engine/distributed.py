"""Training on several processes, GPUs or hosts under `torchrun` (torch.distributed DDP).

torchrun starts one process per rank and tells each, through its environment, its rank and the
world's size; `join` reads that and joins the process group (NCCL between GPUs, gloo on CPUs).
Every rank holds the whole split (the tensor store is small) and trains on its own shard of each
epoch's seeded shuffle; DDP averages the gradients, so all ranks keep identical weights, and the
global batch stays the `batch_size` of params.yaml. Validation is cheap and deterministic, so
every rank computes it and all agree on early stopping without talking; rank 0 alone writes.

Started with plain `python`, the world is one process and none of this does anything."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from pipeline.core.cli import RANKS_END_TOGETHER
from pipeline.core.errors import ConfigError, TrainingError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this process writes outputs and logs the epochs."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """Whether several ranks train (torchrun with WORLD_SIZE > 1)."""
        return self.size > 1

    def device(self, device: torch.device) -> torch.device:
        """One GPU per local rank; CPUs are shared."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" and self.active else device


SINGLE = World()


def join(device: torch.device) -> World:
    """The world torchrun set up (RANK, WORLD_SIZE, LOCAL_RANK), joined; SINGLE without torchrun."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return SINGLE
    import torch.distributed as dist

    world = World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))
    if device.type == "cuda":
        torch.cuda.set_device(world.local_rank)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    log.info("rank %d of %d (local rank %d), backend %s", world.rank, size, world.local_rank, dist.get_backend())
    return world


def leave(world: World) -> None:
    """Leave the process group `join` joined; nothing without torchrun."""
    if world.active:
        import torch.distributed as dist

        dist.destroy_process_group()


@contextlib.contextmanager
def joined(device: torch.device) -> Iterator[World]:
    """`join` for the length of a `with` block, then `leave`, also when training fails. A collective
    that fails because another rank is gone (killed, or failed itself) becomes a TrainingError."""
    world = join(device)
    try:
        yield world
    except BaseException as err:
        with contextlib.suppress(Exception):  # a group with a rank gone may fail to close: the first error counts
            leave(world)
        if isinstance(err, RuntimeError) and world.active and _lost_a_rank(err):
            first = (
                str(err).strip().splitlines()[0].rpartition("] ")[2].partition(". ")[0][:120]
            )  # gloo's first sentence
            raise TrainingError(f"lost contact with another rank ({first}); {RANKS_END_TOGETHER}") from err
        raise
    leave(world)


def _lost_a_rank(err: RuntimeError) -> bool:
    """Whether `err` is a collective's failure (gloo's or NCCL's, or torch.distributed's own)."""
    import torch.distributed as dist

    return isinstance(err, getattr(dist, "DistError", ())) or any(w in str(err) for w in ("gloo", "NCCL", "Connection"))


def wrap(model: nn.Module, world: World, device: torch.device) -> nn.Module:
    """The module to train with: DDP over `model` (which it broadcasts from rank 0) when several
    ranks train, `model` itself otherwise. Save and evaluate `model`, never the wrapper."""
    if not world.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def shard(order: torch.Tensor, world: World, batch_size: int, key: str) -> torch.Tensor:
    """This rank's share of an epoch's order, taken in steps of batch_size / ranks: the order is
    padded by wrapping around to a multiple of the world size (as DistributedSampler does), cut
    into the global batches of one process, and each batch into one equal slice per rank. So step k
    of all ranks together is batch k of one process, and DDP's averaged gradient is that batch's
    mean gradient: one process's steps, with only the random draws (dropout, augmentation) and the
    order of float sums changed. `batch_size` (params key `key`) must divide by the ranks."""
    if not world.active:
        return order
    if batch_size % world.size:
        raise ConfigError(
            f"{key}: {batch_size} does not split evenly over {world.size} ranks; make it a multiple of {world.size}"
        )
    total = -(-len(order) // world.size) * world.size
    padded = torch.cat([order, order[: total - len(order)]]) if total > len(order) else order
    parts = []
    for start in range(0, total, batch_size):
        batch = padded[start : start + batch_size]
        size = len(batch) // world.size
        parts.append(batch[world.rank * size : (world.rank + 1) * size])
    return torch.cat(parts)


def all_sum(t: torch.Tensor, world: World) -> torch.Tensor:
    """`t` summed over every rank, in place; unchanged with one process."""
    if world.active:
        import torch.distributed as dist

        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def weights_digest(model: nn.Module) -> str:
    """SHA-256 of a model's state dict (names and bytes, in name order): the same weights, the same digest."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def check_in_sync(model: nn.Module, world: World) -> str:
    """Fail unless every rank ended with the same weights (a desynchronized rank would otherwise
    go unnoticed: only rank 0 writes); returns the digest."""
    digest = weights_digest(model)
    if world.active:
        import torch.distributed as dist

        log.info("rank %d final weights sha256 %s", world.rank, digest)
        digests: list[str | None] = [None] * world.size
        dist.all_gather_object(digests, digest)
        if len(set(digests)) != 1:
            raise TrainingError(f"ranks ended with different weights ({digests}); DDP lost synchronization")
    return digest
