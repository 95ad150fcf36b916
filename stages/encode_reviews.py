"""Stage encode_reviews@<dataset>: reviews -> tokens -> a frequency-ranked vocabulary (from the
training split) -> left-padded word codes, in seeded stratified train/val/test splits."""

from pipeline.core import cli, params
from pipeline.data.facts import DOWNLOADED, SPLIT_OUTPUTS, read_facts, split_outputs
from pipeline.data.text import encode_reviews_dataset
from pipeline.schema.encode import EncodeReviewsParams


def main() -> None:
    args, raw = cli.arguments(
        __doc__, "dataset", *DOWNLOADED, *SPLIT_OUTPUTS, ("vocab", "output: vocabulary and counts (JSON)")
    )
    p = params.entry(raw, "encode_reviews", args.dataset, EncodeReviewsParams)
    encode_reviews_dataset(read_facts(args.facts), args.raw, p, split_outputs(args), args.vocab)


if __name__ == "__main__":
    cli.run(main)
