"""Stage train_charrnn@<model>: the character-level RNN (LSTM, GRU or RNN: `cell`) on an encoded corpus."""

from pipeline.core import cli, params
from pipeline.core.io import load_verified, read_json
from pipeline.schema.runtime import RuntimeParams
from pipeline.training.charrnn import train_charrnn
from pipeline.training.engine.loop import Outputs
from pipeline.training.engine.runner import Runner


def main() -> None:
    args, raw = cli.arguments(
        __doc__, "model", ("tokens", "encoded corpus"), ("vocab", "vocabulary JSON"), *cli.TRAINING_OUTPUTS
    )
    p = params.entry(raw, "charrnn", args.model)
    runtime = params.section(raw, "runtime", RuntimeParams)
    with Runner.start(f"charrnn.{args.model}", p.device, p.seed, runtime) as runner:
        train_charrnn(
            args.model,
            p,
            load_verified(args.tokens, "encode_text"),
            read_json(args.vocab),
            Outputs.of(args),
            runner,
        )


if __name__ == "__main__":
    cli.run(main)
