"""Stage backbone@<name>: a torchvision architecture's weights (ImageNet, checked by hash, or a
seeded random initialization) as a backbone file for transfer learning and style transfer."""

from pipeline import cli
from pipeline.backbones import fetch_backbone


def main() -> None:
    args, params = cli.arguments(__doc__, "name", ("out", "output: the backbone file"))
    fetch_backbone(args.name, params.model(args.name, "backbones"), args.out)


if __name__ == "__main__":
    cli.run(main)
