"""Stage deploy@<model> (and deploy_<family>@<model>): the exported classifier run by the C++
program (model.ts) and by ONNX Runtime (model.onnx) on the test split, against the eager model:
accuracy of each and the largest |difference| of their outputs (metrics)."""

from pipeline.core import cli, params
from pipeline.core.store import load_split
from pipeline.deployment.deploy import CHECKED, RUN_BY, check_classifier
from pipeline.schema.export import ExportParams


def main() -> None:
    args, raw = cli.arguments(__doc__, "model", *CHECKED, ("test", "test split"), *RUN_BY)
    cfg = params.section(raw, "export", ExportParams)
    check_classifier(
        args.checkpoint, args.export, load_split(args.test), args.program, cfg.atol, cfg.batch_size, args.metrics
    )


if __name__ == "__main__":
    cli.run(main)
