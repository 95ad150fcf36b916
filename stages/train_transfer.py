"""Stage train_transfer@<model>: a new head on a backbone (a trained model's or torchvision's)."""

from pipeline.core import cli, params
from pipeline.data.augment import Policy
from pipeline.data.store import load_split, read_info
from pipeline.schema.runtime import AccelerateParams, RuntimeParams
from pipeline.training.runner import Runner
from pipeline.training.transfer import train_transfer


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "model",
        ("backbone", "backbone file (a checkpoint or backbone stage output)"),
        ("train", "training split"),
        ("val", "validation split"),
        ("stats", "dataset stats JSON"),
        ("policy", "augmentation policy JSON"),
        *cli.TRAINING_OUTPUTS,
    )
    p = params.entry(raw, "transfer", args.model)
    runtime, accelerate = (
        params.section(raw, "runtime", RuntimeParams),
        params.section(raw, "accelerate", AccelerateParams),
    )
    with Runner.start(f"transfer.{args.model}", p.device, p.seed, runtime, accelerate) as runner:
        train_transfer(
            args.model,
            p,
            args.backbone,
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
