"""Stage download@<dataset>: the dataset's upstream files, verified, into one folder, and the facts
about them that later stages need."""

from pipeline.core import cli, params
from pipeline.core.io import write_json
from pipeline.data.fetch import fetch_dataset
from pipeline.data.own import VALIDATORS, validate
from pipeline.data.sources import facts, read_source
from pipeline.schema.download import DownloadParams


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "dataset",
        ("dataset-dir", "the dataset's folder: datasets/<name>/"),
        ("out", "output: folder of the upstream files"),
        ("facts", "output: what later stages need to know (JSON)"),
    )
    cfg = params.entry(raw, "download", args.dataset, DownloadParams)
    source = read_source(args.dataset_dir, args.dataset, cfg.source, cfg)
    classes: list[str] = []  # what your own files name

    def check(root):  # your own files, read as the later stages will, before anything is written
        classes.extend(validate(cfg.source, root, args.dataset, cfg.options()))

    fetch_dataset(args.dataset, source, cfg, args.dataset_dir, args.out, check if cfg.source in VALIDATORS else None)
    write_json(args.facts, facts(args.dataset, source, cfg.source, cfg.options(), classes).as_json())


if __name__ == "__main__":
    cli.run(main)
