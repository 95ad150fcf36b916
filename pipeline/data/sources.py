"""What a dataset is: its upstream files and their MD5 checksums, the format that reads them and the
facts the rest of the pipeline needs (kind, class names, whether an official test split exists,
whether a horizontal flip keeps an image's class).

The registry is split by dataset, so that DVC reruns exactly one dataset's stages when its entry
changes: every dataset is a folder `datasets/<name>/`, which its download stage depends on.
- A known dataset's folder holds `source.yaml` (and, for a generated one, the script that makes it).
- Your own files use a generic source (`download.<name>.source: image_folder`, text_files,
  labeled_text, table_csv or photos: docs/own-data.md) and live in the folder themselves (or the
  folder is a symbolic link to them), so editing one reruns its stages. The sources other than
  image_folder may instead name their files in `checksums` and fetch them from `mirrors` or
  `local_dir`, like a known dataset.

Where to download from (mirrors) is not here but in params.yaml, so a team can point at its own.
The download stage writes the facts later stages need to data/sources/<name>.json
(`facts`), so those stages depend on the data, not on this registry.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Literal

from pipeline.core.errors import ConfigError
from pipeline.core.params import Section, check, invalid, read_yaml
from pipeline.data.facts import Facts

# What a dataset holds; it decides which preparation stage and which models can use it.
IMAGE, TABULAR, CORPUS, REVIEWS, PHOTOS = "image", "tabular", "corpus", "reviews", "photos"
ENTRY = "source.yaml"


class Source(Section):
    kind: Literal["image", "tabular", "corpus", "reviews", "photos"]
    files: dict[str, str | None] = {}  # upstream name -> MD5 (None: none published; params must give one)
    format: str = ""  # key of the parsers in pipeline.data.formats / .text ("" for photos, read by name)
    classes: list[str] = []  # [] when the files name them (image folders)
    official_test: bool = False  # upstream ships a test split; otherwise normalize carves one out
    hflip_ok: bool = False  # a mirrored image still belongs to its class
    bundled_in: str | None = None  # installed package that ships the files (no download)
    bundled_dir: str = ""  # folder inside that package
    generator: str | None = None  # a script in the dataset's folder whose generate(out, samples, seed) makes the files
    folder: bool = False  # the files are whatever the dataset's folder holds (your own data)
    synthetic: bool = False  # made up, not real data: the metrics say so
    homepage: str = ""

    @property
    def remote(self) -> bool:
        """Whether the files are downloaded (not shipped in a package, generated, or your own folder)."""
        return self.bundled_in is None and self.generator is None and not self.folder

    def bundled_path(self, name: str) -> Path:
        """Where upstream file `name` lies in package `bundled_in`; FileNotFoundError if it is not installed."""
        spec = importlib.util.find_spec(self.bundled_in) if self.bundled_in else None
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"package {self.bundled_in!r} is not installed")
        return Path(spec.submodule_search_locations[0]) / self.bundled_dir / name


# Generic sources: for your own files, kept in datasets/<name>/ (a folder, or a link to one).
GENERIC: dict[str, Source] = {
    "image_folder": Source(kind=IMAGE, format="image_folder_dir", official_test=True, hflip_ok=True, folder=True),
    "text_files": Source(kind=CORPUS, format="text_files", folder=True),
    "labeled_text": Source(kind=REVIEWS, format="labeled_text", folder=True),
    "table_csv": Source(kind=TABULAR, format="table_csv", folder=True),
    "photos": Source(kind=PHOTOS, format="photos", folder=True),
}
# Those whose files may also come from mirrors or local_dir, named (with their MD5) in checksums.
FETCHABLE = ("text_files", "labeled_text", "table_csv", "photos")


def read_source(folder: str | Path, name: str, generic: str | None = None, cfg=None) -> Source:
    """Dataset `name`'s entry: a generic source, or the folder's source.yaml, validated. `cfg`
    (its download params) turns a fetchable generic source with mirrors or local_dir into a
    remote one whose files are the keys of its checksums."""
    folder = Path(folder)
    if generic is not None:
        if generic not in GENERIC:
            raise ConfigError(
                f"download.{name}.source: unknown generic source {generic!r}; generic sources: "
                f"{', '.join(GENERIC)} (a known dataset needs no source: its entry is {folder / ENTRY})"
            )
        if (folder / ENTRY).exists():
            raise ConfigError(
                f"download.{name}.source: {name!r} is a known dataset ({folder / ENTRY}); remove "
                "source, or give your own dataset another name"
            )
        if not folder.is_dir():
            raise ConfigError(
                f"download.{name}: your own files go in {folder}/ (a folder, or a symbolic link to "
                "one), so that DVC sees when they change; it does not exist"
            )
        if generic in FETCHABLE and cfg is not None and (cfg.mirrors or cfg.local_dir):
            return GENERIC[generic].model_copy(update={"folder": False, "files": dict.fromkeys(cfg.checksums)})
        return GENERIC[generic]
    if not (folder / ENTRY).is_file():
        known = sorted(p.parent.name for p in folder.parent.glob(f"*/{ENTRY}"))
        raise ConfigError(
            f"download.{name}: no known dataset {name!r} ({folder / ENTRY} is missing); known "
            f"datasets: {', '.join(known)}; for your own files set download.{name}.source to one "
            f"of {', '.join(GENERIC)}"
        )
    problems: list[str] = []
    source = check(Source, read_yaml(folder / ENTRY), str(folder / ENTRY), problems)
    if problems:
        raise invalid(problems, str(folder / ENTRY))
    return source


def facts(
    name: str, source: Source, generic: str | None = None, options: dict | None = None, classes: list[str] | None = None
) -> Facts:
    """`options` and `classes`: your own files' columns (params) and the classes found in them."""
    return Facts(
        name,
        generic or name,
        source.kind,
        source.format,
        list(classes or source.classes),
        source.official_test,
        source.hflip_ok,
        source.synthetic,
        dict(options or {}),
    )
