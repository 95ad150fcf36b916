"""download.<dataset>: where a dataset's upstream files come from. What the files are (names,
checksums, format, classes) is the dataset's own entry, datasets/<dataset>/source.yaml."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from pipeline.core.params import PositiveInt, Section, Seed

MD5_PATTERN = re.compile(r"^[0-9a-f]{32}$")
COLUMN_KEYS = ("text_column", "label_column", "onehot")
# which generic source (its format) takes which column keys; the first ones are required
COLUMNS = {"labeled_text": (), "table_csv": ("label_column",)}
ALLOWED = {"labeled_text": ("text_column", "label_column"), "table_csv": ("label_column", "onehot")}


class GenerateParams(Section):
    """For generated datasets (synthetic_reviews): how many samples, from which seed."""

    samples: PositiveInt
    seed: Seed


class DownloadParams(Section):
    source: str | None = None  # a generic source for your own files in datasets/<dataset>/ (docs/own-data.md)
    mirrors: list[str] = []  # base URLs tried in order; file names are appended
    local_dir: str | None = None  # a folder holding the upstream files (checked by MD5), used instead of mirrors
    checksums: dict[str, str] = {}  # per-file MD5 overrides (a newer upstream version you trust)
    retries: int = Field(3, ge=1, le=10)  # attempts per mirror before moving to the next
    timeout_s: float = Field(60.0, gt=0)
    generate: GenerateParams | None = None  # generated datasets only
    # your own files (docs/own-data.md): labeled_text's columns, table_csv's label and categories
    text_column: str | None = None
    label_column: str | None = None
    onehot: list[str] = []  # table_csv: columns one-hot encoded, as the course does for rank

    def options(self) -> dict:
        """The column settings that are set, as the readers of pipeline.data.own take them."""
        return {k: v for k in COLUMN_KEYS if (v := getattr(self, k))}

    @field_validator("mirrors")
    @classmethod
    def _mirror_urls(cls, mirrors: list[str]) -> list[str]:
        for url in mirrors:
            if not re.match(r"^(https?|file)://", url):
                raise ValueError(f"mirror {url!r} must start with http://, https:// or file://")
        return [url if url.endswith("/") else url + "/" for url in mirrors]

    @field_validator("checksums")
    @classmethod
    def _md5s(cls, checksums: dict[str, str]) -> dict[str, str]:
        for name, md5 in checksums.items():
            if not MD5_PATTERN.match(md5):
                raise ValueError(f"checksum of {name!r} must be 32 lowercase hex digits, got {md5!r}")
        return checksums


def problems(dataset: str, source: Any, cfg: DownloadParams) -> list[str]:
    """How download.<dataset> can disagree with what the dataset is (`source`: its entry,
    pipeline.data.sources.Source); checked by make check and by the download stage before it fetches."""
    found = []
    unknown = sorted(set(cfg.checksums) - set(source.files))
    if unknown and source.files:
        found.append(
            f"download.{dataset}.checksums: {', '.join(unknown)} is not a file of {dataset!r}; its files: "
            f"{', '.join(source.files)}"
        )
    if source.bundled_in and (cfg.mirrors or cfg.local_dir):
        found.append(f"download.{dataset}: {dataset!r} ships with {source.bundled_in}; remove mirrors and local_dir")
    if source.folder and (cfg.mirrors or cfg.local_dir):
        found.append(
            f"download.{dataset}: your own dataset is read from datasets/{dataset}/; remove mirrors and "
            "local_dir (put the files, or a symbolic link to them, there)"
        )
    if source.remote and not cfg.mirrors and not cfg.local_dir:
        found.append(
            f"download.{dataset}.mirrors: give at least one mirror URL, or set download.{dataset}.local_dir "
            f"to a folder holding {', '.join(source.files)}"
        )
    if source.remote:
        found += [
            f"download.{dataset}.checksums.{name}: required; {dataset!r} publishes no checksum for it, and a "
            "copied or downloaded file is always checked (md5sum of a copy you trust)"
            for name, md5 in source.files.items()
            if md5 is None and name not in cfg.checksums
        ]
    if source.remote and not source.files:
        found.append(
            f"download.{dataset}.checksums: name each file of your own dataset with its MD5 "
            "({file: md5}); they are fetched from mirrors or local_dir and checked"
        )
    found += _column_problems(dataset, source, cfg)
    if (source.generator is None) != (cfg.generate is None):
        found.append(
            f"download.{dataset}.generate: "
            + (
                "required for a generated dataset (samples, seed)"
                if source.generator
                else f"only for generated datasets, and {dataset!r} is not one"
            )
        )
    return found


def _column_problems(dataset: str, source: Any, cfg: DownloadParams) -> list[str]:
    allowed, key = ALLOWED.get(source.format, ()), f"download.{dataset}"
    found = [
        f"{key}.{k}: only for " + (" or ".join(f for f, ks in ALLOWED.items() if k in ks)) + " sources"
        for k in cfg.options()
        if k not in allowed
    ]
    found += [
        f"{key}.{k}: required for a {source.format} source (the name of a column of your table)"
        for k in COLUMNS.get(source.format, ())
        if not getattr(cfg, k)
    ]
    if source.format == "labeled_text" and bool(cfg.text_column) != bool(cfg.label_column):
        found.append(f"{key}: give both text_column and label_column (a table), or neither (one folder per class)")
    return found
