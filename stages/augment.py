"""Stage augment@<dataset>: record the seeded augmentation policy that training applies to
batches, and a preview grid of training images beside their augmented versions."""

from pipeline import cli
from pipeline.augment import Policy, write_policy
from pipeline.data.store import load_split


def main() -> None:
    args, params = cli.arguments(__doc__, "dataset", ("train", "the training split (tensor store)"),
                                 ("policy", "output: the policy (JSON)"), ("preview", "output: preview grid (PNG)"))
    cfg = params.dataset("augment", args.dataset)
    write_policy(Policy.from_params(cfg), load_split(args.train).inputs, cfg.preview_images, args.policy,
                 args.preview)


if __name__ == "__main__":
    cli.run(main)
