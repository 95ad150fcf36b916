"""Stage normalize@<dataset>: raw files -> seeded stratified splits in the tensor store, plus the
training split's per-channel mean and std."""

from pipeline.core import cli, params
from pipeline.data.facts import DOWNLOADED, SPLIT_OUTPUTS, read_facts, split_outputs
from pipeline.data.normalize import normalize_dataset
from pipeline.schema.normalize import NormalizeParams


def main() -> None:
    args, raw = cli.arguments(
        __doc__, "dataset", *DOWNLOADED, *SPLIT_OUTPUTS, ("stats", "output: class names, shape, mean and std (JSON)")
    )
    facts, p = read_facts(args.facts), params.entry(raw, "normalize", args.dataset, NormalizeParams)
    normalize_dataset(facts, args.raw, p, split_outputs(args), args.stats)


if __name__ == "__main__":
    cli.run(main)
