"""Stage normalize@<dataset>: raw files -> seeded stratified splits in the tensor store, plus the
training split's per-channel mean and std."""

from pipeline import cli
from pipeline.data.normalize import normalize_dataset


def main() -> None:
    args, params = cli.arguments(__doc__, "dataset", ("raw", "folder of upstream files (download stage)"),
                                 *cli.SPLIT_OUTPUTS, ("stats", "output: class names, shape, mean and std (JSON)"))
    normalize_dataset(args.dataset, params.source_name(args.dataset), args.raw,
                      params.dataset("normalize", args.dataset),
                      {"train": args.train, "val": args.val, "test": args.test}, args.stats)


if __name__ == "__main__":
    cli.run(main)
