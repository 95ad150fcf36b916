"""Stage normalize@<dataset>: raw files -> seeded stratified splits in the tensor store, plus the
training split's per-channel mean and std."""

from pipeline.core import cli, params
from pipeline.data.facts import read_facts
from pipeline.data.normalize import normalize_dataset
from pipeline.schema.normalize import NormalizeParams


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "dataset",
        ("raw", "folder of upstream files (download stage)"),
        ("facts", "what the download stage recorded about them (JSON)"),
        *cli.SPLIT_OUTPUTS,
        ("stats", "output: class names, shape, mean and std (JSON)"),
    )
    normalize_dataset(
        read_facts(args.facts),
        args.raw,
        params.entry(raw, "normalize", args.dataset, NormalizeParams),
        {"train": args.train, "val": args.val, "test": args.test},
        args.stats,
    )


if __name__ == "__main__":
    cli.run(main)
