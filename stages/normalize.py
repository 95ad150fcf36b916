"""Stage normalize@<dataset>: raw files -> seeded stratified splits in the tensor store, plus the
training split's per-channel mean and std."""

import argparse

from pipeline import cli, config
from pipeline.data.normalize import normalize_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dataset")
    ap.add_argument("--raw", required=True, help="folder of upstream files (download stage)")
    for split in ("train", "val", "test"):
        ap.add_argument(f"--{split}", required=True, help=f"output: the {split} split")
    ap.add_argument("--stats", required=True, help="output: class names, shape, mean and std (JSON)")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    params = config.load(args.params)
    cfg = params.dataset("normalize", args.dataset)
    normalize_dataset(args.dataset, params.source_name(args.dataset), args.raw, cfg,
                      {"train": args.train, "val": args.val, "test": args.test}, args.stats)


if __name__ == "__main__":
    cli.run(main)
