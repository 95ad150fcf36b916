"""Stage filters: the course's hand-made kernels (Sobel, high-pass) applied to real photos, each
response beside its max-pooled version (params section filters). Its argument is the photos
dataset (filters.photos), as the download stage names it."""

from pipeline.core import cli, params
from pipeline.inspection.filters import check_kind, run_filters
from pipeline.schema.filters import FiltersParams


def main() -> None:
    args, raw = cli.arguments(
        __doc__,
        "dataset",
        ("photos", "folder of photos (download stage)"),
        ("facts", "the photos dataset's facts (download stage)"),
        ("out", "output: the filters picture (PNG)"),
        ("metrics", "output: mean |response| per kernel (JSON)"),
    )
    p = params.section(raw, "filters", FiltersParams)
    check_kind(args.dataset, args.facts)
    run_filters(p, args.photos, args.dataset, args.out, args.metrics)


if __name__ == "__main__":
    cli.run(main)
