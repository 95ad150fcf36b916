"""Stage train_charrnn@<model>: the character-level LSTM on an encoded corpus."""

from pipeline import cli
from pipeline.runtime import configure
from pipeline.charrnn import train_charrnn
from pipeline.io import load_torch, read_json


def main() -> None:
    args, params = cli.arguments(__doc__, "model", ("tokens", "encoded corpus"), ("vocab", "vocabulary JSON"),
                                 *cli.TRAINING_OUTPUTS)
    p = params.model(args.model, "charrnn")
    configure(params.runtime, p.device)
    train_charrnn(args.model, p, load_torch(args.tokens), read_json(args.vocab), args.checkpoint, args.loss_curve,
                  args.accuracy_curve)


if __name__ == "__main__":
    cli.run(main)
