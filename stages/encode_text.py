"""Stage encode_text@<corpus>: a text corpus -> integer codes over a sorted character vocabulary,
with the last part of the text held out for validation."""

from pipeline import cli
from pipeline.data.text import encode_text_dataset


def main() -> None:
    args, params = cli.arguments(__doc__, "corpus", ("raw", "folder of the corpus files (download stage)"),
                                 ("tokens", "output: train and val codes"), ("vocab", "output: the vocabulary (JSON)"))
    encode_text_dataset(args.corpus, params.source_name(args.corpus), args.raw,
                        params.dataset("encode_text", args.corpus), args.tokens, args.vocab)


if __name__ == "__main__":
    cli.run(main)
