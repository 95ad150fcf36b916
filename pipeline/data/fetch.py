"""Get a dataset's upstream files into a folder: copied from an installed package, from a local
folder (a team's shared copy), generated (synthetic sources), or downloaded from a list of mirrors.

Downloads go through pipeline.data.download (mirrors, retries, checksums). The whole folder is
built under `<out>.partial` and renamed at the end, so a failure leaves nothing behind.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from pipeline.config import DownloadParams
from pipeline.data.download import Checksum, download
from pipeline.data.generate import GENERATORS
from pipeline.data.sources import SOURCES
from pipeline.errors import DataError
from pipeline.io import md5_file

log = logging.getLogger(__name__)


def fetch_dataset(dataset: str, cfg: DownloadParams, out_dir: str | Path) -> list[Path]:
    """Put every upstream file of `dataset`'s source into `out_dir`, verified. Returns the paths."""
    source = SOURCES[cfg.source or dataset]
    out_dir = Path(out_dir)
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    checksums = {f.name: f.md5 for f in source.files} | cfg.checksums
    dead: set[str] = set()
    try:
        if source.generator:
            GENERATORS[source.generator](staging, cfg.generate.samples, cfg.generate.seed)
        elif source.folder:
            _copy_folder(Path(cfg.local_dir), staging, dataset)
        for spec in () if source.generator else source.files:
            target = staging / spec.name
            if source.bundled_in:
                _copy_checked(source.bundled_path(spec.name), target, checksums[spec.name], dataset)
            elif cfg.local_dir:
                _copy_checked(Path(cfg.local_dir) / spec.name, target, checksums[spec.name], dataset)
            else:
                _download(spec.name, checksums[spec.name], cfg, target, dataset, dead)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(p for p in out_dir.rglob("*") if p.is_file())


def _copy_folder(src: Path, target: Path, dataset: str) -> None:
    if not src.is_dir():
        raise DataError(f"{src} is not a folder: download.{dataset}.local_dir must be a folder of "
                        "train/<class>/ and test/<class>/ images")
    shutil.copytree(src, target, dirs_exist_ok=True)
    log.info("%s: copied the folder %s", dataset, src)


def _copy_checked(src: Path, target: Path, md5: str | None, dataset: str) -> None:
    if not src.is_file():
        raise DataError(f"{src} not found: download.{dataset}.local_dir must hold the upstream files "
                        f"under their upstream names (or remove local_dir to download them)")
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(src, tmp)
    if md5 is not None and (got := md5_file(tmp)) != md5:
        tmp.unlink()
        raise DataError(f"{src} has MD5 {got}, expected {md5}: the copy is corrupt or a different "
                        f"version; replace it, or set download.{dataset}.checksums.{target.name} "
                        "if this version is intended")
    tmp.rename(target)
    log.info("%s: copied %s (%s)", dataset, src, "verified" if md5 else "checksum not given")


def _download(name: str, md5: str, cfg: DownloadParams, target: Path, dataset: str, dead: set[str]) -> None:
    download(name, [m + name for m in cfg.mirrors], Checksum("md5", md5), target, cfg.retries, cfg.timeout_s,
             f"dataset {dataset!r}", f"download.{dataset}", dead)
