"""Stage encode_reviews@<dataset>: reviews -> tokens -> a frequency-ranked vocabulary (from the
training split) -> left-padded word codes, in seeded stratified train/val/test splits."""

from pipeline import cli
from pipeline.data.text import encode_reviews_dataset


def main() -> None:
    args, params = cli.arguments(__doc__, "dataset", ("raw", "folder of the review files (download stage)"),
                                 *cli.SPLIT_OUTPUTS, ("vocab", "output: vocabulary and counts (JSON)"))
    encode_reviews_dataset(args.dataset, params.source_name(args.dataset), args.raw,
                           params.dataset("encode_reviews", args.dataset),
                           {"train": args.train, "val": args.val, "test": args.test}, args.vocab)


if __name__ == "__main__":
    cli.run(main)
