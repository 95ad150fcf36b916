"""Stage encode_reviews@<dataset>: reviews -> tokens -> a frequency-ranked vocabulary (from the
training split) -> left-padded word codes, in seeded stratified train/val/test splits."""

from pipeline.core import cli, params
from pipeline.data.facts import read_facts
from pipeline.data.text import encode_reviews_dataset
from pipeline.schema.encode import EncodeReviewsParams


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "dataset",
        ("raw", "folder of the review files (download stage)"),
        ("facts", "what the download stage recorded about them (JSON)"),
        *cli.SPLIT_OUTPUTS,
        ("vocab", "output: vocabulary and counts (JSON)"),
    )
    encode_reviews_dataset(
        read_facts(args.facts),
        args.raw,
        params.entry(raw, "encode_reviews", args.dataset, EncodeReviewsParams),
        {"train": args.train, "val": args.val, "test": args.test},
        args.vocab,
    )


if __name__ == "__main__":
    cli.run(main)
