"""Stage train@<model>: train one model, keeping the checkpoint with the best validation loss and
logging per-epoch loss and accuracy curves (DVC plots)."""

from pipeline import cli
from pipeline.runtime import configure
from pipeline.augment import Policy
from pipeline.data.store import load_split, read_info
from pipeline.train_images import train_model


def main() -> None:
    args, params = cli.arguments(__doc__, "model", ("train", "training split"), ("val", "validation split"),
                                 ("stats", "dataset stats JSON"), ("policy", "augmentation policy JSON"),
                                 *cli.TRAINING_OUTPUTS)
    p = params.model(args.model)
    configure(params.runtime, p.device)
    train_model(args.model, p, load_split(args.train), load_split(args.val), read_info(args.stats),
                Policy.load(args.policy), args.checkpoint, args.loss_curve, args.accuracy_curve, params.runtime)


if __name__ == "__main__":
    cli.run(main)
