"""Stage visualize@<model> (and visualize_transfer@<model>): a look inside a trained image
classifier: its first layer's filters, and the feature maps of one test image per class at every
convolution, activation and pooling layer. Reads no params."""

from pipeline.core import cli
from pipeline.core.store import load_split, read_info
from pipeline.inspection.visualize import visualize


def main() -> None:
    args, _ = cli.arguments(
        __doc__,
        "model",
        ("checkpoint", "trained checkpoint"),
        ("test", "test split"),
        ("stats", "the test split's dataset stats (its classes)"),
        ("filters", "output: first-layer filters (PNG)"),
        ("feature-maps", "output: feature maps per layer (PNG)"),
    )
    visualize(args.checkpoint, load_split(args.test), read_info(args.stats).classes, args.filters, args.feature_maps)


if __name__ == "__main__":
    cli.run(main)
