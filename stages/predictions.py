"""Stage predictions@<model>: the course's `view_classify` as one picture: test images beside their
top-k class probabilities from the exported TorchScript model, the misclassified ones marked.
Reads no params (the grid's size, k and seed are the library's defaults)."""

from pathlib import Path

from pipeline.core import cli
from pipeline.core.io import read_json
from pipeline.core.store import load_split, read_info
from pipeline.inspection.predictions import as_trained, plot_predictions


def main() -> None:
    args, _ = cli.arguments(
        __doc__,
        "model",
        ("export", "exported model folder: model.ts, metadata.json"),
        ("test", "test split"),
        ("stats", "the test split's dataset stats (its classes)"),
        ("out", "output: predictions picture (PNG)"),
    )
    export = Path(args.export)
    metadata = read_json(export / "metadata.json")
    test = as_trained(load_split(args.test), metadata, read_info(args.stats).classes, str(export / "metadata.json"))
    plot_predictions(export / "model.ts", metadata, test, args.out)


if __name__ == "__main__":
    cli.run(main)
