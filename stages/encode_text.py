"""Stage encode_text@<corpus>: a text corpus -> integer codes over a sorted character vocabulary,
with the last part of the text held out for validation."""

import argparse

from pipeline import cli, config
from pipeline.data.text import encode_text_dataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("corpus")
    ap.add_argument("--raw", required=True, help="folder of the corpus files (download stage)")
    ap.add_argument("--tokens", required=True, help="output: train and val codes")
    ap.add_argument("--vocab", required=True, help="output: the vocabulary (JSON)")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    params = config.load(args.params)
    encode_text_dataset(args.corpus, params.source_name(args.corpus), args.raw,
                        params.dataset("encode_text", args.corpus), args.tokens, args.vocab)


if __name__ == "__main__":
    cli.run(main)
