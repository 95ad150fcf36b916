"""Stage deploy_charrnn@<model>: the exported character model run by the C++ program (logits on the
validation text, text generated with the sample section's settings and greedily) and by ONNX
Runtime, against the eager model and Python's sampling."""

from pipeline.core import cli, params
from pipeline.core.io import load_verified
from pipeline.deployment.deploy import CHECKED, RUN_BY
from pipeline.deployment.deploy_charrnn import check_charrnn
from pipeline.schema.charrnn import Sampling
from pipeline.schema.export import ExportParams


def main() -> None:
    args, raw = cli.arguments(__doc__, "model", *CHECKED, ("tokens", "encoded corpus"), *RUN_BY)
    sampling = params.entry(raw, "sample", args.model, Sampling)
    check_charrnn(
        args.checkpoint,
        args.export,
        load_verified(args.tokens, "encode_text"),
        args.program,
        sampling,
        params.section(raw, "export", ExportParams).atol,
        args.metrics,
    )


if __name__ == "__main__":
    cli.run(main)
