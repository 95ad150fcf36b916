"""Stage download@<dataset>: the dataset's upstream files, verified, into one folder."""

from pipeline import cli
from pipeline.data.fetch import fetch_dataset


def main() -> None:
    args, params = cli.arguments(__doc__, "dataset", ("out", "folder that receives the upstream files"))
    fetch_dataset(args.dataset, params.dataset("download", args.dataset), args.out)


if __name__ == "__main__":
    cli.run(main)
