"""Batched augmentation: seeded, shape-preserving, exact where it should be, and a preview."""

from __future__ import annotations

import torch

from pipeline.data.augment import Policy, augment_batch, preview_grid, write_policy

NONE = Policy(rotation_deg=0.0, translate=0.0, scale=(1.0, 1.0), hflip=0.0, seed=0)
COURSE = Policy(rotation_deg=10.0, translate=0.1, scale=(0.95, 1.05), hflip=0.5, seed=0)


def batch(n=16, c=3, size=16):
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(1))


def test_no_augmentation_is_the_identity():
    x = batch()
    assert augment_batch(x, NONE, torch.Generator().manual_seed(0)) is x


def test_flip_only_is_an_exact_mirror_of_some_images():
    x = batch(64)
    out = augment_batch(x, Policy(0.0, 0.0, (1.0, 1.0), 0.5, 0), torch.Generator().manual_seed(0))
    flipped = (out == x.flip(-1)).flatten(1).all(1)
    same = (out == x).flatten(1).all(1)
    assert (flipped | same).all() and 16 < flipped.sum() < 48


def test_same_seed_same_batch_other_seed_other_batch():
    x = batch()
    a = augment_batch(x, COURSE, torch.Generator().manual_seed(5))
    b = augment_batch(x, COURSE, torch.Generator().manual_seed(5))
    c = augment_batch(x, COURSE, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape and a.dtype == x.dtype and (a >= 0).all() and (a <= 1).all()


def test_small_rotation_keeps_the_picture_recognisable():
    x = torch.zeros(8, 1, 28, 28)
    x[:, :, 8:20, 12:16] = 1.0  # a vertical bar in the middle
    out = augment_batch(x, Policy(10.0, 0.0, (1.0, 1.0), 0.0, 0), torch.Generator().manual_seed(0))
    assert not torch.equal(out, x)
    ink = out.sum((1, 2, 3)) / x.sum((1, 2, 3))
    assert ((ink > 0.9) & (ink < 1.1)).all()  # content moved, not lost


def test_preview_grid_and_policy_file(tmp_path):
    images = (batch(20, 1, 8) * 255).to(torch.uint8)
    grid = preview_grid(images, COURSE, 12)
    assert grid.dtype.name == "uint8" and grid.ndim == 3 and grid.shape[2] == 3
    assert grid.shape[0] == 4 * (8 * 8 + 2)  # 12 images in rows of 8: 2 original + 2 augmented rows
    write_policy(COURSE, images, 12, tmp_path / "policy.json", tmp_path / "preview.png")
    assert Policy.load(tmp_path / "policy.json") == COURSE
    assert (tmp_path / "preview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
