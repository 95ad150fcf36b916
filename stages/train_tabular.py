"""Stage train_tabular@<model>: logistic regression or a small MLP by gradient descent, or the
perceptron by the course's perceptron trick, on a table (restarts: the best of several seeds)."""

from pipeline.core import cli, params
from pipeline.core.store import load_split, read_info
from pipeline.schema.runtime import RuntimeParams
from pipeline.training.engine.loop import SPLIT_INPUTS
from pipeline.training.engine.runner import Runner
from pipeline.training.tabular import train_tabular


def main() -> None:
    args, raw = cli.arguments(__doc__, "model", *SPLIT_INPUTS, ("stats", "dataset stats JSON"), *cli.TRAINING_OUTPUTS)
    p = params.entry(raw, "tabular", args.model)
    runtime = params.section(raw, "runtime", RuntimeParams)
    with Runner.start(f"tabular.{args.model}", "cpu", p.seed, runtime, ranks=False):  # restarts: seeds of their own
        train_tabular(
            args.model,
            p,
            load_split(args.train),
            load_split(args.val),
            read_info(args.stats),
            args.checkpoint,
            args.loss_curve,
            args.accuracy_curve,
        )


if __name__ == "__main__":
    cli.run(main)
