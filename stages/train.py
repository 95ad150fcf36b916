"""Stage train@<model>: train one model, keeping the checkpoint with the best validation loss and
logging per-epoch loss and accuracy curves (DVC plots)."""

import argparse

from pipeline import cli, config
from pipeline.runtime import configure
from pipeline.augment import Policy
from pipeline.data.store import load_split, read_info
from pipeline.train_images import train_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    for name, what in (("train", "training split"), ("val", "validation split"), ("stats", "dataset stats JSON"),
                       ("policy", "augmentation policy JSON"), ("checkpoint", "output: best checkpoint"),
                       ("loss-curve", "output: loss per epoch (CSV)"),
                       ("accuracy-curve", "output: accuracy per epoch (CSV)")):
        ap.add_argument(f"--{name}", required=True, help=what)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    params = config.load(args.params)
    configure(params.runtime, params.model(args.model).device)
    train_model(args.model, params.model(args.model), load_split(args.train),
                load_split(args.val), read_info(args.stats), Policy.load(args.policy), args.checkpoint,
                args.loss_curve, args.accuracy_curve, params.runtime)


if __name__ == "__main__":
    cli.run(main)
