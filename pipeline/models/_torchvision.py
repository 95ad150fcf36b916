"""torchvision architectures as feature extractors (transfer learning, style transfer): built here
without weights; whoever has the weights loads them. No files, no network."""

from __future__ import annotations

import torch
from torch import nn

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def torchvision_model(arch: str, seed: int | None = None) -> nn.Module:
    """The architecture with its default initialization; with `seed`, a seeded one (drawn from its
    own generator state, so the caller's random state is untouched)."""
    import torchvision

    if seed is None:
        return getattr(torchvision.models, arch)(weights=None)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
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
