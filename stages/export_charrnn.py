"""Stage export_charrnn@<model>: TorchScript and torch.export of the character model
(model(x, h, c) -> logits, h, c), checked on windows of the validation text."""

import argparse

from pipeline import cli, config
from pipeline.export import export_charrnn
from pipeline.io import load_torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    ap.add_argument("--checkpoint", required=True, help="trained checkpoint")
    ap.add_argument("--tokens", required=True, help="encoded corpus (parity check on the validation text)")
    ap.add_argument("--out", required=True, help="output folder: model.ts, model.pt2, metadata.json")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    export_charrnn(args.checkpoint, load_torch(args.tokens), args.out, config.load(args.params).export.atol)


if __name__ == "__main__":
    cli.run(main)
