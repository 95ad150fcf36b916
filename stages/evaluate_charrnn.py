"""Stage evaluate_charrnn@<model>: validation loss, perplexity, next-character accuracy, macro
precision and recall, and seeded text samples (top-k sampling from a prime: the sample section)."""

from pipeline.core import cli, params
from pipeline.core.io import load_verified
from pipeline.inspection.evaluate_charrnn import evaluate_charrnn
from pipeline.schema.charrnn import Sampling
from pipeline.schema.runtime import RuntimeParams
from pipeline.training.engine.runtime import configure


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "model",
        ("checkpoint", "trained checkpoint"),
        ("tokens", "encoded corpus"),
        ("metrics", "output: metrics JSON"),
        ("samples", "output: generated text"),
    )
    sampling = params.entry(raw, "sample", args.model, Sampling)
    configure(params.section(raw, "runtime", RuntimeParams), "cpu", f"sample.{args.model}")
    evaluate_charrnn(
        args.checkpoint,
        load_verified(args.tokens, "encode_text"),
        sampling,
        args.metrics,
        args.samples,
        f"sample.{args.model}",
    )


if __name__ == "__main__":
    cli.run(main)
