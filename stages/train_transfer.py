"""Stage train_transfer@<model>: a new head on a frozen backbone (the pipeline's own trained model
or a torchvision one), trained like every image classifier."""

import argparse

from pipeline import cli, config
from pipeline.runtime import configure
from pipeline.augment import Policy
from pipeline.data.store import load_split, read_info
from pipeline.transfer import train_transfer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    for name, what in (("backbone", "backbone file (a checkpoint or backbone stage output)"),
                       ("train", "training split"), ("val", "validation split"), ("stats", "dataset stats JSON"),
                       ("policy", "augmentation policy JSON"), ("checkpoint", "output: best checkpoint"),
                       ("loss-curve", "output: loss per epoch"), ("accuracy-curve", "output: accuracy per epoch")):
        ap.add_argument(f"--{name}", required=True, help=what)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    params = config.load(args.params)
    p = params.model(args.model, "transfer")
    configure(params.runtime, p.device)
    train_transfer(args.model, p, args.backbone, load_split(args.train), load_split(args.val), read_info(args.stats),
                   Policy.load(args.policy), args.checkpoint, args.loss_curve, args.accuracy_curve)


if __name__ == "__main__":
    cli.run(main)
