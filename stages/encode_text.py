"""Stage encode_text@<corpus>: a text corpus -> integer codes over a sorted character vocabulary,
with the last part of the text held out for validation."""

from pipeline.core import cli, params
from pipeline.data.facts import read_facts
from pipeline.data.text import encode_text_dataset
from pipeline.schema.encode import EncodeTextParams


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "corpus",
        ("raw", "folder of the corpus files (download stage)"),
        ("facts", "what the download stage recorded about them (JSON)"),
        ("tokens", "output: train and val codes"),
        ("vocab", "output: the vocabulary (JSON)"),
    )
    cfg = params.entry(raw, "encode_text", args.corpus, EncodeTextParams)
    encode_text_dataset(read_facts(args.facts), args.raw, cfg, args.tokens, args.vocab)


if __name__ == "__main__":
    cli.run(main)
