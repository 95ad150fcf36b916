"""Stage train_sentiment@<model>: the sentiment LSTM on encoded reviews."""

import argparse

from pipeline import cli, config
from pipeline.runtime import configure
from pipeline.data.store import load_split
from pipeline.io import read_json
from pipeline.sentiment import train_sentiment


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    for name, what in (("train", "training split"), ("val", "validation split"), ("vocab", "vocabulary JSON"),
                       ("checkpoint", "output: best checkpoint"), ("loss-curve", "output: loss per epoch"),
                       ("accuracy-curve", "output: accuracy per epoch")):
        ap.add_argument(f"--{name}", required=True, help=what)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    params = config.load(args.params)
    p = params.model(args.model, "sentiment")
    configure(params.runtime, p.device)
    train_sentiment(args.model, p, load_split(args.train), load_split(args.val), read_json(args.vocab),
                    args.checkpoint, args.loss_curve, args.accuracy_curve)


if __name__ == "__main__":
    cli.run(main)
