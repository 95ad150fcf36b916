"""Stage export@<model> (and export_<family>@<model>): TorchScript and torch.export artifacts of a
classifier plus metadata.json, each format checked against the eager model on the test split."""

from pipeline.core import cli, params
from pipeline.core.store import load_split
from pipeline.deployment.export import export_classifier
from pipeline.schema.export import ExportParams


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "model",
        ("checkpoint", "trained checkpoint"),
        ("test", "test split (parity check)"),
        ("out", "output folder: model.ts, model.pt2, metadata.json"),
    )
    cfg = params.section(raw, "export", ExportParams)
    export_classifier(args.checkpoint, load_split(args.test).inputs, args.out, cfg.atol, cfg.batch_size)


if __name__ == "__main__":
    cli.run(main)
