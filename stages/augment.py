"""Stage augment@<dataset>: record the seeded augmentation policy that training applies to
batches, and a preview grid of training images beside their augmented versions."""

from pipeline.core import cli, params
from pipeline.core.store import load_split
from pipeline.data.augment import Policy, write_policy
from pipeline.data.facts import read_facts
from pipeline.schema.augment import AugmentParams, problems


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "dataset",
        ("train", "the training split (tensor store)"),
        ("facts", "what the download stage recorded about the data (JSON)"),
        ("policy", "output: the policy (JSON)"),
        ("preview", "output: preview grid (PNG)"),
    )
    cfg = params.entry(raw, "augment", args.dataset, AugmentParams)
    if found := problems(cfg, read_facts(args.facts)):
        raise params.invalid(found)
    write_policy(Policy.from_params(cfg), load_split(args.train).inputs, cfg.preview_images, args.policy, args.preview)


if __name__ == "__main__":
    cli.run(main)
