"""Stage backbone@<name>: a torchvision architecture's weights (ImageNet, checked by hash, or a
seeded random initialization) as a backbone file for transfer learning and style transfer."""

import argparse

from pipeline import cli, config
from pipeline.backbones import fetch_backbone


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("name")
    ap.add_argument("--out", required=True, help="output: the backbone file")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    fetch_backbone(args.name, config.load(args.params).model(args.name, "backbones"), args.out)


if __name__ == "__main__":
    cli.run(main)
