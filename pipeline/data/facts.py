"""What the stages after download know about a dataset: the facts its download stage recorded in
data/sources/<name>.json (from the dataset's entry, pipeline.data.sources). They read this file,
which is data, instead of the registry, which is code: so a registry edit reruns downloads only."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.core.errors import DataError
from pipeline.core.io import read_json

# The command line of a stage that reads a download and writes splits (normalize, encode_reviews):
# its inputs and its outputs, as (option, help) pairs for pipeline.core.cli.arguments.
DOWNLOADED = (
    ("raw", "folder of the downloaded files (download stage)"),
    ("facts", "what the download stage recorded about them (JSON)"),
)
SPLIT_OUTPUTS = tuple((split, f"output: the {split} split") for split in ("train", "val", "test"))


def split_outputs(args: Any) -> dict[str, str]:
    """split -> the path the command line names for it (SPLIT_OUTPUTS)."""
    return {split: getattr(args, split) for split, _ in SPLIT_OUTPUTS}


@dataclass(frozen=True)
class Facts:
    """What the stages after download need to know about the data (data/sources/<name>.json)."""

    dataset: str
    source: str  # the dataset itself, or the generic source that read your files
    kind: str
    format: str
    classes: list[str]
    official_test: bool
    hflip_ok: bool
    synthetic: bool
    options: dict = field(default_factory=dict)  # your own files: the columns the readers need (docs/own-data.md)

    def as_json(self) -> dict:
        """What data/sources/<name>.json holds; `options` only when set, so a known dataset's file
        stays as it was."""
        return {k: v for k, v in asdict(self).items() if k != "options" or v}


def read_facts(path: str | Path) -> Facts:
    """The facts a download stage wrote to `path`; a DataError if it is missing or not such a file."""
    try:
        return Facts(**read_json(path))
    except (OSError, ValueError, TypeError) as err:
        raise DataError(f"{path}: not a dataset facts file ({err}); rerun its download stage") from None
