"""Stage style@<name>: style transfer of one content photo in the style of another, on VGG19."""

import argparse

from pipeline import cli, config
from pipeline.runtime import configure
from pipeline.style import run_style_transfer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("name")
    for name, what in (("photos", "folder of photos (download stage)"), ("vgg", "VGG19 backbone file"),
                       ("image", "output: stylized PNG"), ("curve", "output: losses per step (CSV)"),
                       ("metrics", "output: final losses (JSON)")):
        ap.add_argument(f"--{name}", required=True, help=what)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    params = config.load(args.params)
    p = params.model(args.name, "style")
    configure(params.runtime, p.device)
    run_style_transfer(args.name, p, args.photos, args.vgg, args.image, args.curve, args.metrics)


if __name__ == "__main__":
    cli.run(main)
