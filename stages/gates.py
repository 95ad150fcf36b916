"""Stage gates@<model>: a tabular model trained on the logical gates AND, OR, NOT and XOR, with
the learned boundaries drawn."""

from pipeline.core import cli, params
from pipeline.schema.gates import read
from pipeline.schema.runtime import RuntimeParams
from pipeline.training.engine.runtime import configure
from pipeline.training.gates import run_gates


def main() -> None:
    args, raw = cli.arguments(
        __doc__, "model", ("metrics", "output: per-gate accuracies (JSON)"), ("plot", "output: the boundaries (PNG)")
    )
    data, model = read(raw, args.model)
    configure(params.section(raw, "runtime", RuntimeParams), "cpu", f"gates.models.{args.model}")
    run_gates(args.model, model, data, args.metrics, args.plot)


if __name__ == "__main__":
    cli.run(main)
