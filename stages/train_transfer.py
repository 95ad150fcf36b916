"""Stage train_transfer@<model>: a new head on a backbone (a trained model's or torchvision's)."""

from pipeline.core import cli, params
from pipeline.schema.runtime import AccelerateParams, RuntimeParams
from pipeline.training.engine.loop import Outputs
from pipeline.training.engine.runner import Runner
from pipeline.training.train import IMAGE_INPUTS, ImageData
from pipeline.training.transfer import train_transfer


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "model",
        ("backbone", "backbone file (a checkpoint or backbone stage output)"),
        *IMAGE_INPUTS,
        *cli.TRAINING_OUTPUTS,
    )
    p = params.entry(raw, "transfer", args.model)
    runtime, accelerate = (
        params.section(raw, "runtime", RuntimeParams),
        params.section(raw, "accelerate", AccelerateParams),
    )
    with Runner.start(f"transfer.{args.model}", p.device, p.seed, runtime, accelerate) as runner:
        train_transfer(args.model, p, args.backbone, ImageData.of(args), Outputs.of(args), runner)


if __name__ == "__main__":
    cli.run(main)
