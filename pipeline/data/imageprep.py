"""Fitting a picture to a model's input, as the training data was: resize the shorter side, then
crop the centre (the course's Resize then CenterCrop). Torch-free: `predict` imports it."""

from __future__ import annotations

import numpy as np


def resize_crop(img, mode: str, size: int | tuple[int, int]) -> np.ndarray:
    """Convert a PIL image to `mode` ("L" or "RGB"), scale it so that it covers `size` (an int for
    a square, or (height, width)), then crop the centre. Returns uint8 (channels, height, width)."""
    from PIL import Image

    height, width = (size, size) if isinstance(size, int) else size
    img = img.convert(mode)
    w, h = img.size
    scale = max(height / h, width / w)  # a square: size / min(w, h), the shorter side fits
    img = img.resize((max(width, round(w * scale)), max(height, round(h * scale))), Image.BILINEAR)
    w, h = img.size
    left, top = (w - width) // 2, (h - height) // 2
    img = img.crop((left, top, left + width, top + height))
    pixels = np.asarray(img, dtype=np.uint8)
    return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
