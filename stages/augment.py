"""Stage augment@<dataset>: record the seeded augmentation policy that training applies to
batches, and a preview grid of training images beside their augmented versions."""

import argparse

from pipeline import cli, config
from pipeline.augment import Policy, write_policy
from pipeline.data.store import load_split


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dataset")
    ap.add_argument("--train", required=True, help="the training split (tensor store)")
    ap.add_argument("--policy", required=True, help="output: the policy (JSON)")
    ap.add_argument("--preview", required=True, help="output: preview grid (PNG)")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    cfg = config.load(args.params).dataset("augment", args.dataset)
    write_policy(Policy.from_params(cfg), load_split(args.train).inputs, cfg.preview_images, args.policy,
                 args.preview)


if __name__ == "__main__":
    cli.run(main)
