"""Stage export_charrnn@<model>: TorchScript and torch.export of the character model
(model(x, h, c) -> logits, h, c), checked on windows of the validation text."""

from pipeline.core import cli, params
from pipeline.core.io import load_verified
from pipeline.deployment.export_charrnn import export_charrnn
from pipeline.schema.export import ExportParams


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "model",
        ("checkpoint", "trained checkpoint"),
        ("tokens", "encoded corpus (parity check on the validation text)"),
        ("out", "output folder: model.ts, model.pt2, metadata.json"),
    )
    export_charrnn(
        args.checkpoint,
        load_verified(args.tokens, "encode_text"),
        args.out,
        params.section(raw, "export", ExportParams).atol,
    )


if __name__ == "__main__":
    cli.run(main)
