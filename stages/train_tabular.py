"""Stage train_tabular@<model>: logistic regression by gradient descent, or the perceptron by the
course's perceptron trick, on a table."""

import argparse

from pipeline import cli, config
from pipeline.runtime import configure
from pipeline.data.store import load_split, read_info
from pipeline.tabular import train_tabular


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    for name, what in (("train", "training split"), ("val", "validation split"), ("stats", "dataset stats JSON"),
                       ("checkpoint", "output: best checkpoint"), ("loss-curve", "output: loss per epoch"),
                       ("accuracy-curve", "output: accuracy per epoch")):
        ap.add_argument(f"--{name}", required=True, help=what)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    params = config.load(args.params)
    p = params.model(args.model, "tabular")
    configure(params.runtime, "cpu")
    train_tabular(args.model, p, load_split(args.train), load_split(args.val), read_info(args.stats),
                  args.checkpoint, args.loss_curve, args.accuracy_curve)


if __name__ == "__main__":
    cli.run(main)
