"""Stage evaluate_charrnn@<model>: validation loss, perplexity, next-character accuracy, macro
precision and recall, and seeded text samples (top-k sampling from a prime)."""

from pipeline import cli
from pipeline.runtime import configure
from pipeline.charrnn import evaluate_charrnn
from pipeline.io import load_torch


def main() -> None:
    args, params = cli.arguments(__doc__, "model", ("checkpoint", "trained checkpoint"), ("tokens", "encoded corpus"),
                                 ("metrics", "output: metrics JSON"), ("samples", "output: generated text"))
    configure(params.runtime, "cpu")
    evaluate_charrnn(args.checkpoint, load_torch(args.tokens), args.metrics, args.samples)


if __name__ == "__main__":
    cli.run(main)
