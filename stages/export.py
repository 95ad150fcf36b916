"""Stage export@<model> (and export_<family>@<model>): TorchScript and torch.export artifacts of a
classifier plus metadata.json, each format checked against the eager model on the test split."""

import argparse

from pipeline import cli, config
from pipeline.data.store import load_split
from pipeline.export import export_classifier


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    ap.add_argument("--checkpoint", required=True, help="trained checkpoint")
    ap.add_argument("--test", required=True, help="test split (parity check)")
    ap.add_argument("--out", required=True, help="output folder: model.ts, model.pt2, metadata.json")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    cfg = config.load(args.params).export
    export_classifier(args.checkpoint, load_split(args.test).inputs, args.out, cfg.atol, cfg.batch_size)


if __name__ == "__main__":
    cli.run(main)
