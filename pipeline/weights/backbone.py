"""The `backbone@<name>` stage's work: a torchvision architecture's ImageNet weights, read from a
local file or downloaded from the official URL, checked by hash and loaded with
`weights_only=True`; or a seeded random initialization (no download). Written as a backbone file
(pipeline.weights.backbone_file)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import torch

from pipeline.core.errors import DataError
from pipeline.data.download import Checksum, download
from pipeline.models._torchvision import torchvision_model
from pipeline.schema.backbones import BackboneParams
from pipeline.weights.backbone_file import save_backbone

OFFICIAL_URLS = {
    "resnet18": "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
    "densenet121": "https://download.pytorch.org/models/densenet121-a639ec97.pth",
}
HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")  # torchvision's convention: <arch>-<sha256 prefix>.pth


def _expected_hash(cfg: BackboneParams, url: str) -> Checksum:
    if cfg.sha256:
        return Checksum("sha256", cfg.sha256)
    found = HASH_IN_NAME.search(url.rsplit("/", 1)[-1])
    if not found:
        raise DataError(
            f"{url}: the file name carries no hash prefix (<arch>-<sha256 prefix>.pth); give the "
            "full hash in backbones.<name>.sha256"
        )
    return Checksum("sha256", found.group(1), prefix=True)


def fetch_backbone(name: str, cfg: BackboneParams, out: str | Path) -> None:
    """Write the backbone file for entry `name` of the backbones section."""
    out = Path(out)
    if cfg.weights == "random":
        save_backbone(out, cfg.arch, "random", seed=cfg.seed)
        return
    url = cfg.url or OFFICIAL_URLS[cfg.arch]
    out.parent.mkdir(parents=True, exist_ok=True)
    weights = out.with_name(url.rsplit("/", 1)[-1])
    try:
        expected = _expected_hash(cfg, cfg.local_file or url)
        if cfg.local_file:
            digest = hashlib.sha256(Path(cfg.local_file).read_bytes()).hexdigest()
            if not expected.matches(digest):
                raise DataError(
                    f"{cfg.local_file}: SHA256 {digest} does not match the expected {expected.expected}; "
                    f"replace the file or correct backbones.{name}.sha256"
                )
            weights = Path(cfg.local_file)
        else:
            download(
                weights.name,
                [url],
                expected,
                weights,
                cfg.retries,
                cfg.timeout_s,
                f"backbone {name!r}",
                f"backbones.{name}",
            )
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            torchvision_model(cfg.arch).load_state_dict(state)
        except (RuntimeError, OSError, KeyError) as err:
            raise DataError(f"{weights}: not {cfg.arch} weights ({str(err).splitlines()[0]})") from None
        save_backbone(out, cfg.arch, "imagenet", source=cfg.local_file or url, state=state)
    finally:
        if not cfg.local_file:
            weights.unlink(missing_ok=True)
