"""Feature extractors for transfer learning and style transfer.

A backbone file (`models/<name>/model.pt`) is written by the `backbone@<name>` stage for a
torchvision architecture: ImageNet weights read from a local file or downloaded from the official
URL, checked by hash and loaded with `weights_only=True`; or a seeded random initialization
(recorded as a recipe, not as 100 MB of random numbers). A model trained by this pipeline is a
backbone too: its checkpoint sits at the same path, so a transfer model names either.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pipeline.config import ALL_ARCHS, BackboneParams
from pipeline.data.download import Checksum, download
from pipeline.errors import DataError
from pipeline.io import load_torch, save_torch
from pipeline.models import build_model

log = logging.getLogger(__name__)

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
OFFICIAL_URLS = {
    "resnet18": "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "densenet121": "https://download.pytorch.org/models/densenet121-a639ec97.pth",
}
HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")  # torchvision's convention: <arch>-<sha256 prefix>.pth


def torchvision_model(arch: str) -> nn.Module:
    import torchvision

    return getattr(torchvision.models, arch)(weights=None)


def torchvision_features(model: nn.Module, arch: str) -> tuple[nn.Module, int]:
    """Drop the ImageNet classifier's last layer: (feature extractor, feature size)."""
    if arch.startswith("resnet"):
        dim, model.fc = model.fc.in_features, nn.Identity()
    elif arch.startswith("vgg"):
        dim, model.classifier = model.classifier[-1].in_features, model.classifier[:-1]
    else:  # densenet
        dim, model.classifier = model.classifier.in_features, nn.Identity()
    return model, dim


def _expected_hash(cfg: BackboneParams, url: str) -> Checksum:
    if cfg.sha256:
        return Checksum("sha256", cfg.sha256)
    found = HASH_IN_NAME.search(url.rsplit("/", 1)[-1])
    if not found:
        raise DataError(f"{url}: the file name carries no hash prefix (<arch>-<sha256 prefix>.pth); give the "
                        "full hash in backbones.<name>.sha256")
    return Checksum("sha256", found.group(1), prefix=True)


def fetch_backbone(name: str, cfg: BackboneParams, out: str | Path) -> None:
    """Write the backbone file for entry `name` of the backbones section."""
    out = Path(out)
    if cfg.weights == "random":
        save_torch({"kind": "backbone", "arch": cfg.arch, "weights": "random", "seed": cfg.seed}, out)
        return
    url = cfg.url or OFFICIAL_URLS[cfg.arch]
    out.parent.mkdir(parents=True, exist_ok=True)
    weights = out.with_name(url.rsplit("/", 1)[-1])
    try:
        expected = _expected_hash(cfg, cfg.local_file or url)
        if cfg.local_file:
            import hashlib

            digest = hashlib.sha256(Path(cfg.local_file).read_bytes()).hexdigest()
            if not expected.matches(digest):
                raise DataError(f"{cfg.local_file}: SHA256 {digest} does not match the expected {expected.expected}; "
                                f"replace the file or correct backbones.{name}.sha256")
            weights = Path(cfg.local_file)
        else:
            download(weights.name, [url], expected, weights, cfg.retries, cfg.timeout_s, f"backbone {name!r}",
                     f"backbones.{name}")
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            torchvision_model(cfg.arch).load_state_dict(state)
        except (RuntimeError, OSError, KeyError) as err:
            raise DataError(f"{weights}: not {cfg.arch} weights ({str(err).splitlines()[0]})") from None
        save_torch({"kind": "backbone", "arch": cfg.arch, "weights": "imagenet", "source": cfg.local_file or url,
                    "state": state}, out)
    finally:
        if not cfg.local_file:
            weights.unlink(missing_ok=True)


def describe(path: str | Path) -> dict[str, Any]:
    """What a backbone file holds, enough to rebuild its architecture (without weights)."""
    data = load_torch(path)
    if data.get("kind") == "backbone":
        return {"source": "torchvision", "arch": data["arch"], "weights": data["weights"]}
    return {"source": "pipeline", "model": data["model"], "arch": data["arch"], "params": data["params"],
            "spec": data["spec"]}


def load_torchvision(path: str | Path | None, arch: str) -> nn.Module:
    """The torchvision model a backbone file describes, with its weights (ImageNet, or the seeded
    random initialization); without a file, only the architecture."""
    data = load_torch(path) if path is not None else {}
    if data.get("weights") == "random":
        torch.manual_seed(data["seed"])
    model = torchvision_model(arch)
    if "state" in data:
        model.load_state_dict(data["state"])
    return model


def features(desc: dict[str, Any], path: str | Path | None = None) -> tuple[nn.Module, int, list, list]:
    """(feature extractor, feature size, input mean, input std) of a backbone; with `path`, its
    weights are loaded, otherwise it is only the architecture (a checkpoint fills it in)."""
    if desc["source"] == "torchvision":
        extractor, dim = torchvision_features(load_torchvision(path, desc["arch"]), desc["arch"])
        return extractor, dim, IMAGENET_MEAN, IMAGENET_STD
    params = ALL_ARCHS[desc["arch"]].model_validate(desc["params"])
    model = build_model(desc["arch"], params, desc["spec"])
    if path is not None:
        model.load_state_dict(load_torch(path)["model_state"])
    layers = list(model.body)
    if not isinstance(layers[-1], nn.Linear):
        raise DataError(f"{path}: backbone {desc['model']!r} does not end in a linear layer to replace")
    return nn.Sequential(*layers[:-1]), layers[-1].in_features, desc["spec"]["mean"], desc["spec"]["std"]
