"""Stage train_transfer@<model>: a new head on a frozen backbone (the pipeline's own trained model
or a torchvision one), trained like every image classifier."""

from pipeline import cli
from pipeline.runtime import configure
from pipeline.augment import Policy
from pipeline.data.store import load_split, read_info
from pipeline.transfer import train_transfer


def main() -> None:
    args, params = cli.arguments(
        __doc__, "model", ("backbone", "backbone file (a checkpoint or backbone stage output)"),
        ("train", "training split"), ("val", "validation split"), ("stats", "dataset stats JSON"),
        ("policy", "augmentation policy JSON"), *cli.TRAINING_OUTPUTS)
    p = params.model(args.model, "transfer")
    configure(params.runtime, p.device)
    train_transfer(args.model, p, args.backbone, load_split(args.train), load_split(args.val), read_info(args.stats),
                   Policy.load(args.policy), args.checkpoint, args.loss_curve, args.accuracy_curve)


if __name__ == "__main__":
    cli.run(main)
