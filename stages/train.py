"""Stage train@<model>: train one image classifier from scratch, keeping the checkpoint with the
best validation loss and logging per-epoch loss and accuracy curves (DVC plots)."""

from pipeline.core import cli, params
from pipeline.data.augment import Policy
from pipeline.data.store import load_split, read_info
from pipeline.schema.runtime import AccelerateParams, RuntimeParams
from pipeline.training.runner import Runner
from pipeline.training.train import train_model


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "model",
        ("train", "training split"),
        ("val", "validation split"),
        ("stats", "dataset stats JSON"),
        ("policy", "augmentation policy JSON"),
        *cli.TRAINING_OUTPUTS,
    )
    p = params.entry(raw, "train", args.model)
    runtime, accelerate = (
        params.section(raw, "runtime", RuntimeParams),
        params.section(raw, "accelerate", AccelerateParams),
    )
    with Runner.start(f"train.{args.model}", p.device, p.seed, runtime, accelerate) as runner:
        train_model(
            args.model,
            p,
            load_split(args.train),
            load_split(args.val),
            read_info(args.stats),
            Policy.load(args.policy),
            args.checkpoint,
            args.loss_curve,
            args.accuracy_curve,
            runner,
        )


if __name__ == "__main__":
    cli.run(main)
