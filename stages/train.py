"""Stage train@<model>: train one image classifier from scratch, keeping the checkpoint with the
best validation loss and logging per-epoch loss and accuracy curves (DVC plots)."""

from pipeline.core import cli, params
from pipeline.schema.runtime import AccelerateParams, RuntimeParams
from pipeline.training.engine.loop import Outputs
from pipeline.training.engine.runner import Runner
from pipeline.training.train import IMAGE_INPUTS, ImageData, train_model


def main() -> None:
    args, raw = cli.arguments(__doc__, "model", *IMAGE_INPUTS, *cli.TRAINING_OUTPUTS)
    p = params.entry(raw, "train", args.model)
    runtime, accelerate = (
        params.section(raw, "runtime", RuntimeParams),
        params.section(raw, "accelerate", AccelerateParams),
    )
    with Runner.start(f"train.{args.model}", p.device, p.seed, runtime, accelerate) as runner:
        train_model(args.model, p, ImageData.of(args), Outputs.of(args), runner)


if __name__ == "__main__":
    cli.run(main)
