"""Style transfer (course lesson 6, after Gatys et al.): optimise an image, starting from the
content photo, so that its VGG19 features match the content photo's at conv4_2 and its Gram
matrices match the style image's at conv1_1 ... conv5_1, weighted as in the course.

Total loss = content_weight * content loss + style_weight * style loss, minimised with Adam on
the pixels. VGG19's ImageNet weights come from a backbone entry; with `weights: random` it is a
seeded random VGG19, which the metrics and the README say."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from pipeline.core.cli import STEP_LINE
from pipeline.core.errors import ConfigError, DataError
from pipeline.core.io import write_csv, write_json, write_png
from pipeline.models._torchvision import IMAGENET_MEAN, IMAGENET_STD
from pipeline.schema.style import StyleParams
from pipeline.weights.backbone_file import read_backbone, torchvision_weights

if TYPE_CHECKING:  # passed in by the stage, never built here
    from pipeline.training.engine.runner import Runner

log = logging.getLogger(__name__)

# Layer names of torchvision's vgg19().features, as the course numbers them.
VGG19_LAYERS = {"conv1_1": 0, "conv2_1": 5, "conv3_1": 10, "conv4_1": 19, "conv4_2": 21, "conv5_1": 28}


def load_photo(path: Path, longer_side: int, shape: tuple[int, int] | None = None) -> torch.Tensor:
    """(1, 3, H, W) float in [0, 1]: the longer side scaled to `longer_side`, or resized to `shape`."""
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise ConfigError(
            f"{path.name} is not in {path.parent}; choose one of "
            f"{', '.join(sorted(p.name for p in path.parent.iterdir()))}"
        )
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if shape is None:
                scale = longer_side / max(img.size)
                shape = (max(1, round(img.size[1] * scale)), max(1, round(img.size[0] * scale)))
            img = img.resize((shape[1], shape[0]), Image.BICUBIC)
            pixels = np.asarray(img, dtype=np.float32) / 255
    except (OSError, UnidentifiedImageError) as err:
        raise DataError(f"{path}: not a readable image ({err}); replace it") from None
    return torch.from_numpy(pixels).permute(2, 0, 1)[None]


def gram(t: torch.Tensor) -> torch.Tensor:
    """The (d, d) Gram matrix of a (1, d, h, w) feature map, not normalized."""
    _, d, h, w = t.shape
    flat = t.view(d, h * w)
    return flat @ flat.t()


def vgg_features(vgg: nn.Module, x: torch.Tensor, wanted: set[str]) -> dict[str, torch.Tensor]:
    """The outputs of the `wanted` layers (names of VGG19_LAYERS) for `x`; stops after the last one."""
    out, names = {}, {index: name for name, index in VGG19_LAYERS.items() if name in wanted}
    for index, layer in enumerate(vgg):
        x = layer(x)
        if index in names:
            out[names[index]] = x
        if len(out) == len(names):
            break
    return out


def stylize(content: torch.Tensor, style: torch.Tensor, vgg: nn.Module, p: StyleParams) -> tuple[torch.Tensor, list]:
    """Returns the stylized image (1, 3, H, W) in [0, 1] and the loss history."""
    mean = torch.tensor(IMAGENET_MEAN, device=content.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=content.device).view(1, 3, 1, 1)
    wanted = set(p.style_layers) | {p.content_layer}
    with torch.no_grad():
        content_f = vgg_features(vgg, (content - mean) / std, wanted)
        style_grams = {name: gram(f) for name, f in vgg_features(vgg, (style - mean) / std, wanted).items()}
    target = content.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([target], lr=p.lr)
    history = []
    for step in range(1, p.steps + 1):
        target_f = vgg_features(vgg, (target - mean) / std, wanted)
        content_loss = torch.mean((target_f[p.content_layer] - content_f[p.content_layer]) ** 2)
        style_loss = torch.zeros((), device=content.device)
        for name, weight in p.style_layers.items():
            _, d, h, w = target_f[name].shape
            style_loss = style_loss + weight * torch.mean((gram(target_f[name]) - style_grams[name]) ** 2) / (d * h * w)
        total = p.content_weight * content_loss + p.style_weight * style_loss
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        with torch.no_grad():
            target.clamp_(0, 1)
        if step % p.log_every == 0 or step == p.steps:
            history.append((step, content_loss.item(), style_loss.item(), total.item()))
            log.info(STEP_LINE, step, p.steps, *history[-1][1:])
    return target.detach(), history


def run_style_transfer(
    name: str,
    p: StyleParams,
    photos: str | Path,
    vgg_file: str | Path,
    image_png: str | Path,
    curve_csv: str | Path,
    metrics_json: str | Path,
    runner: Runner,
) -> dict:
    """Style entry `name`: the content photo in the style photo's style, on `runner`'s device (one
    process); write the image, the loss curve, then the metrics (returned). A `vgg_file` that is not
    a VGG19 backbone file: ConfigError."""
    device = runner.device
    desc = read_backbone(vgg_file)
    if desc is None or desc["arch"] != "vgg19":
        raise ConfigError(
            f"style.{name}.vgg: {vgg_file} is not a VGG19 backbone file; name a backbones entry with arch vgg19"
        )
    vgg = torchvision_weights(desc).features.to(device).eval()
    for param in vgg.parameters():
        param.requires_grad_(False)
    content = load_photo(Path(photos) / p.content, p.size).to(device)
    style = load_photo(Path(photos) / p.style, p.size, tuple(content.shape[-2:])).to(device)
    log.info(
        "%s: %s in the style of %s, %dx%d px, %d steps, VGG19 weights: %s",
        name,
        p.content,
        p.style,
        content.shape[-1],
        content.shape[-2],
        p.steps,
        desc["weights"],
    )
    image, history = stylize(content, style, vgg, p)
    picture = (image[0].permute(1, 2, 0).cpu().numpy() * 255).round().astype("uint8")
    write_png(picture, image_png)
    write_csv(
        curve_csv,
        ["step", "content", "style", "total"],
        [[s, f"{c:.6g}", f"{t:.6g}", f"{o:.6g}"] for s, c, t, o in history],
    )
    step, content_loss, style_loss, total = history[-1]
    r = lambda v: float(f"{v:.6g}")  # noqa: E731
    metrics = {
        "steps": step,
        "content_loss": r(content_loss),
        "style_loss": r(style_loss),
        "total_loss": r(total),
        "pretrained_vgg": int(desc["weights"] == "imagenet"),
        "height": image.shape[-2],
        "width": image.shape[-1],
    }
    write_json(metrics_json, metrics)
    return metrics
