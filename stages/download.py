"""Stage download@<dataset>: the dataset's upstream files, verified, into one folder."""

import argparse

from pipeline import cli, config
from pipeline.data.fetch import fetch_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dataset")
    ap.add_argument("--out", required=True, help="folder that receives the upstream files")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    params = config.load(args.params)
    fetch_dataset(args.dataset, params.dataset("download", args.dataset), args.out)


if __name__ == "__main__":
    cli.run(main)
