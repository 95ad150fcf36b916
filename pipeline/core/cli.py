"""What every stage script shares: its command line (the entry it runs for, the files it reads and
writes, the params file), logging set-up, and turning a PipelineError into a clean exit."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Callable

from pipeline.core.errors import PipelineError
from pipeline.core.params import read_yaml

log = logging.getLogger("pipeline")

# The outputs of every training stage, and of the data stages that write splits: (option, help) pairs.
TRAINING_OUTPUTS = (("checkpoint", "output: best checkpoint"), ("loss-curve", "output: loss per epoch (CSV)"),
                    ("accuracy-curve", "output: accuracy per epoch (CSV)"))
SPLIT_OUTPUTS = tuple((split, f"output: the {split} split") for split in ("train", "val", "test"))


def arguments(doc: str | None, entry: str, *files: tuple[str, str]) -> tuple[argparse.Namespace, Any]:
    """Parse a stage's command line: the positional `entry` (a model or a dataset), one required
    `--<option>` per (option, help) pair in `files` (dvc.yaml passes every path), and `--params`.
    Returns the arguments and params.yaml as read; the stage validates the sections it uses."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument(entry)
    for option, what in files:
        ap.add_argument(f"--{option}", required=True, help=what)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    return args, read_yaml(args.params)


def run(main: Callable[[], None]) -> None:
    """Run a stage's `main`; a PipelineError prints its message (no traceback) and exits 2."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        main()
    except PipelineError as err:
        log.error("%s", err)
        raise SystemExit(2) from None
