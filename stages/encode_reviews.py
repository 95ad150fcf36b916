"""Stage encode_reviews@<dataset>: reviews -> tokens -> a frequency-ranked vocabulary (from the
training split) -> left-padded word codes, in seeded stratified train/val/test splits."""

import argparse

from pipeline import cli, config
from pipeline.data.text import encode_reviews_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dataset")
    ap.add_argument("--raw", required=True, help="folder of the review files (download stage)")
    for split in ("train", "val", "test"):
        ap.add_argument(f"--{split}", required=True, help=f"output: the {split} split")
    ap.add_argument("--vocab", required=True, help="output: vocabulary and counts (JSON)")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    params = config.load(args.params)
    encode_reviews_dataset(args.dataset, params.source_name(args.dataset), args.raw,
                           params.dataset("encode_reviews", args.dataset),
                           {"train": args.train, "val": args.val, "test": args.test}, args.vocab)


if __name__ == "__main__":
    cli.run(main)
