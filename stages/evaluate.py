"""Stage evaluate@<model> (and evaluate_<family>@<model>): loss, accuracy, precision, recall and F1
of a classifier on the validation and test splits, and the test split's confusion matrix."""

from pipeline.core import cli, params
from pipeline.core.store import load_split
from pipeline.inspection.evaluate import evaluate_model
from pipeline.schema.evaluate import EvaluateParams
from pipeline.schema.runtime import RuntimeParams
from pipeline.training.engine.runtime import configure, resolve_device


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "model",
        ("checkpoint", "trained checkpoint"),
        ("val", "validation split"),
        ("test", "test split"),
        ("metrics", "output: headline metrics (JSON)"),
        ("per-class", "output: per-class metrics"),
        ("confusion", "output: actual/predicted per test sample (CSV)"),
        ("confusion-png", "output: confusion matrix picture"),
    )
    cfg = params.section(raw, "evaluate", EvaluateParams)
    configure(params.section(raw, "runtime", RuntimeParams), cfg.device, "evaluate.device")
    evaluate_model(
        args.checkpoint,
        {"val": load_split(args.val), "test": load_split(args.test)},
        cfg.batch_size,
        resolve_device(cfg.device, "evaluate.device"),
        {out: getattr(args, out) for out in ("metrics", "per_class", "confusion", "confusion_png")},
    )


if __name__ == "__main__":
    cli.run(main)
