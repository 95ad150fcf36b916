"""Stage export@<model>: TorchScript and torch.export artifacts plus metadata.json, each format
checked against the eager model on the test split before it is written."""

import argparse

from pipeline import cli, config
from pipeline.data.store import load_split
from pipeline.export import export_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model")
    for name, what in (("checkpoint", "trained checkpoint"), ("test", "test split (parity check)"),
                       ("torchscript", "output: TorchScript file"), ("exported-program", "output: .pt2 file"),
                       ("metadata", "output: metadata JSON")):
        ap.add_argument(f"--{name}", required=True, help=what)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    cfg = config.load(args.params).export
    export_model(args.checkpoint, load_split(args.test).images,
                 {"torchscript": args.torchscript, "torch_export": args.exported_program}, args.metadata,
                 cfg.atol, cfg.batch_size)


if __name__ == "__main__":
    cli.run(main)
