"""Stage boundary@<model>: a tabular model's decision boundary over its dataset's points (the
real plane for two features, the first two principal components' plane for more)."""

from pipeline.core import cli
from pipeline.core.store import load_split, read_info
from pipeline.inspection.boundary import plot_model_boundary


def main() -> None:
    args, _ = cli.arguments(
        __doc__,
        "model",
        ("checkpoint", "trained model"),
        ("train", "training split"),
        ("val", "validation split"),
        ("test", "test split"),
        ("stats", "dataset stats JSON"),
        ("plot", "output: the boundary (PNG)"),
    )
    splits = {name: load_split(getattr(args, name)) for name in ("train", "val", "test")}
    plot_model_boundary(args.checkpoint, splits, read_info(args.stats), args.plot)


if __name__ == "__main__":
    cli.run(main)
