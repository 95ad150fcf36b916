"""Stage backbone@<name>: a torchvision architecture's weights (ImageNet, checked by hash, or a
seeded random initialization) as a backbone file for transfer learning and style transfer."""

from pipeline.core import cli, params
from pipeline.schema.backbones import BackboneParams
from pipeline.weights.backbone import fetch_backbone


def main() -> None:
    args, raw = cli.arguments(__doc__, "name", ("out", "output: the backbone file"))
    fetch_backbone(args.name, params.entry(raw, "backbones", args.name, BackboneParams), args.out)


if __name__ == "__main__":
    cli.run(main)
