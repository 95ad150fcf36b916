"""Stage train_sentiment@<model>: the sentiment RNN (LSTM, GRU or RNN: `cell`) on encoded reviews."""

from pipeline.core import cli, params
from pipeline.core.io import read_json
from pipeline.core.store import load_split
from pipeline.schema.runtime import RuntimeParams
from pipeline.training.engine.loop import SPLIT_INPUTS, Outputs
from pipeline.training.engine.runner import Runner
from pipeline.training.sentiment import train_sentiment


def main() -> None:
    args, raw = cli.arguments(__doc__, "model", *SPLIT_INPUTS, ("vocab", "vocabulary JSON"), *cli.TRAINING_OUTPUTS)
    p = params.entry(raw, "sentiment", args.model)
    runtime = params.section(raw, "runtime", RuntimeParams)
    with Runner.start(f"sentiment.{args.model}", p.device, p.seed, runtime) as runner:
        train_sentiment(
            args.model,
            p,
            load_split(args.train),
            load_split(args.val),
            read_json(args.vocab),
            Outputs.of(args),
            runner,
        )


if __name__ == "__main__":
    cli.run(main)
