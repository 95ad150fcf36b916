"""The course's image augmentation (small rotations, translations, scaling, horizontal flips where
they keep the class) as a seeded policy applied to whole batches of tensors.

The augment stage records the policy and renders a preview; training applies it to every training
batch with one `affine_grid`/`grid_sample` call, drawing fresh transforms each epoch from a seeded
generator. Validation and test data are never augmented.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from pipeline.core.io import read_json, write_json, write_png


@dataclass(frozen=True)
class Policy:
    rotation_deg: float
    translate: float  # fraction of width/height
    scale: tuple[float, float]
    hflip: float  # probability
    seed: int

    @classmethod
    def from_params(cls, p: Any) -> "Policy":
        """The policy an augment params entry describes."""
        return cls(p.rotation_deg, p.translate, (p.scale[0], p.scale[1]), p.hflip, p.seed)

    @property
    def geometric(self) -> bool:
        """Whether images are rotated, translated or scaled (a flip alone is not geometric)."""
        return self.rotation_deg > 0 or self.translate > 0 or self.scale != (1.0, 1.0)

    def save(self, path: str | Path) -> None:
        """Write the policy as JSON, as `load` reads it."""
        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: str | Path) -> "Policy":
        """The policy in a JSON file written by `save`."""
        d = read_json(path)
        return cls(d["rotation_deg"], d["translate"], tuple(d["scale"]), d["hflip"], d["seed"])


def augment_batch(x: torch.Tensor, policy: Policy, gen: torch.Generator) -> torch.Tensor:
    """Randomly transform a float batch (B, C, H, W) of square images in [0, 1].

    Random numbers come from `gen` on the CPU whatever device `x` is on, so the same seed gives
    the same transforms on a CPU and a GPU; five draws per image are always taken, so changing one
    setting does not reshuffle the others."""
    u = torch.rand(x.shape[0], 5, generator=gen).to(x.device)
    flip = u[:, 4] < policy.hflip
    if not policy.geometric:
        return torch.where(flip[:, None, None, None], x.flip(-1), x) if policy.hflip > 0 else x
    angle = (u[:, 0] * 2 - 1) * math.radians(policy.rotation_deg)
    lo, hi = policy.scale
    scale = lo + u[:, 1] * (hi - lo)
    shift = (u[:, 2:4] * 2 - 1) * (2 * policy.translate)  # grid coordinates span [-1, 1]
    sign = torch.where(flip, -1.0, 1.0)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # theta maps each output pixel to where it samples the input; a flip mirrors the x axis.
    theta = torch.stack(
        [torch.stack([cos * sign, -sin, shift[:, 0]], 1), torch.stack([sin * sign, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def preview_grid(images: torch.Tensor, policy: Policy, n: int) -> np.ndarray:
    """uint8 picture (H, W, 3): rows of `n` random training images, each row followed by the same
    images augmented, enlarged so that 8x8 digits are visible."""
    gen = torch.Generator().manual_seed(policy.seed)
    idx = torch.randperm(len(images), generator=gen)[: min(n, len(images))]
    original = images[idx].float() / 255
    augmented = augment_batch(original, policy, gen)
    cols = min(8, len(idx))
    rows = []
    for start in range(0, len(idx), cols):
        for batch in (original, augmented):
            row = batch[start : start + cols]
            if len(row) < cols:
                row = torch.cat([row, row.new_zeros(cols - len(row), *row.shape[1:])])
            rows.append(row)
    grid = torch.stack(rows)  # (R, cols, C, H, W)
    zoom = max(1, 64 // images.shape[-1])
    grid = F.pad(grid.repeat_interleave(zoom, -1).repeat_interleave(zoom, -2), (1, 1, 1, 1), value=0.5)
    r, c, ch, h, w = grid.shape
    picture = grid.permute(0, 3, 1, 4, 2).reshape(r * h, c * w, ch)
    if ch == 1:
        picture = picture.expand(-1, -1, 3)
    return (picture.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def write_policy(
    policy: Policy, train_images: torch.Tensor, n_preview: int, policy_path: str | Path, preview_path: str | Path
) -> None:
    """Write the preview picture to `preview_path`, then the policy JSON to `policy_path`."""
    write_png(preview_grid(train_images, policy, n_preview), preview_path)
    policy.save(policy_path)
