"""Stage train_charrnn@<model>: the character-level LSTM on an encoded corpus."""

import argparse

from pipeline import cli, config
from pipeline.runtime import configure
from pipeline.charrnn import train_charrnn
from pipeline.io import load_torch, read_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    for name, what in (("tokens", "encoded corpus"), ("vocab", "vocabulary JSON"),
                       ("checkpoint", "output: best checkpoint"), ("loss-curve", "output: loss per epoch"),
                       ("accuracy-curve", "output: accuracy per epoch")):
        ap.add_argument(f"--{name}", required=True, help=what)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    params = config.load(args.params)
    p = params.model(args.model, "charrnn")
    configure(params.runtime, p.device)
    train_charrnn(args.model, p, load_torch(args.tokens), read_json(args.vocab), args.checkpoint, args.loss_curve,
                  args.accuracy_curve)


if __name__ == "__main__":
    cli.run(main)
