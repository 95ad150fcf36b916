"""Stage evaluate_charrnn@<model>: validation loss, perplexity, next-character accuracy, macro
precision and recall, and seeded text samples (top-k sampling from a prime)."""

import argparse

from pipeline import cli, config
from pipeline.runtime import configure
from pipeline.charrnn import evaluate_charrnn
from pipeline.io import load_torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    for name, what in (("checkpoint", "trained checkpoint"), ("tokens", "encoded corpus"),
                       ("metrics", "output: metrics JSON"), ("samples", "output: generated text")):
        ap.add_argument(f"--{name}", required=True, help=what)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    configure(config.load(args.params).runtime, "cpu")
    evaluate_charrnn(args.checkpoint, load_torch(args.tokens), args.metrics, args.samples)


if __name__ == "__main__":
    cli.run(main)
