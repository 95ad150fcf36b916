"""Get a dataset's upstream files into a folder: copied from an installed package, from a local
folder (a team's shared copy, checked by MD5), from your own folder datasets/<name>/, generated
(by the dataset's own script), or downloaded from a list of mirrors.

Downloads go through pipeline.data.download (mirrors, retries, checksums). The whole folder is
built under `<out>.partial` and renamed at the end, so a failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import shutil
from pathlib import Path
from typing import Callable

from pipeline.core.errors import DataError
from pipeline.core.params import invalid
from pipeline.data.download import Checksum, download
from pipeline.data.sources import Source
from pipeline.schema.download import DownloadParams, problems

log = logging.getLogger(__name__)


def md5_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """A file's MD5 as hex digits, read `chunk` bytes at a time."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fetch_dataset(
    dataset: str,
    source: Source,
    cfg: DownloadParams,
    folder: str | Path,
    out_dir: str | Path,
    check: Callable[[Path], object] | None = None,
) -> list[Path]:
    """Put every upstream file of `dataset` into `out_dir`, verified; `folder` is its datasets/<name>/.
    `check` reads your own files (in your folder, or as fetched) before anything is written.
    Returns the paths."""
    out_dir, folder = Path(out_dir), Path(folder)
    if found := problems(dataset, source, cfg):
        raise invalid(found)
    expected = source.files | cfg.checksums
    if check is not None and source.folder:
        check(folder)  # your files, where you keep them: before anything is copied
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    dead: set[str] = set()
    try:
        if source.generator:
            _generator(folder / source.generator).generate(staging, cfg.generate.samples, cfg.generate.seed)
        elif source.folder:
            _copy_folder(folder, staging, dataset)
        for name in () if source.generator else source.files:
            target = staging / name
            if source.bundled_in:
                _copy_checked(source.bundled_path(name), target, expected[name], dataset)
            elif cfg.local_dir:
                _copy_checked(Path(cfg.local_dir) / name, target, expected[name], dataset)
            else:
                download(
                    name,
                    [m + name for m in cfg.mirrors],
                    Checksum("md5", expected[name]),
                    target,
                    cfg.retries,
                    cfg.timeout_s,
                    f"dataset {dataset!r}",
                    f"download.{dataset}",
                    dead,
                )
        if check is not None and not source.folder:
            try:
                check(staging)
            except DataError as err:  # name the file, not the temporary folder it is checked in
                raise DataError(str(err).replace(f"{staging}/", f"{dataset}'s file ")) from None
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(p for p in out_dir.rglob("*") if p.is_file())


def _generator(script: Path):
    spec = importlib.util.spec_from_file_location(f"generate_{script.parent.name}", script)
    if spec is None or not script.is_file():
        raise DataError(f"{script}: the dataset's generator script is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _copy_folder(src: Path, target: Path, dataset: str) -> None:
    files = [p for p in src.rglob("*") if p.is_file()] if src.is_dir() else []
    if not files:
        raise DataError(
            f"{src}: no files; your own dataset {dataset!r} reads this folder (or the folder a symbolic "
            "link there points to), laid out as its source needs (docs/own-data.md)"
        )
    try:
        shutil.copytree(src, target, dirs_exist_ok=True)
    except shutil.Error as err:  # one (source, target, why) per file it could not copy
        source, _, why = err.args[0][0]
        raise DataError(
            f"{source}: could not copy it from your dataset's folder ({why}); fix or remove it "
            "(a broken symbolic link? an unreadable file?)"
        ) from None
    except OSError as err:
        raise DataError(f"{src}: could not copy your dataset's folder ({err})") from None
    log.info("%s: copied the folder %s (%d files)", dataset, src, len(files))


def _copy_checked(src: Path, target: Path, md5: str | None, dataset: str) -> None:
    if not src.is_file():
        raise DataError(
            f"{src} not found: download.{dataset}.local_dir must hold the upstream files "
            f"under their upstream names (or remove local_dir to download them)"
        )
    tmp = target.with_name(target.name + ".tmp")
    try:
        shutil.copyfile(src, tmp)
    except OSError as err:
        raise DataError(f"{src}: could not copy it ({err}); check that it is readable") from None
    if md5 is not None and (got := md5_file(tmp)) != md5:
        tmp.unlink()
        raise DataError(
            f"{src} has MD5 {got}, expected {md5}: the copy is corrupt or a different "
            f"version; replace it, or set download.{dataset}.checksums.{target.name} "
            "if this version is intended"
        )
    tmp.rename(target)
    log.info("%s: copied %s (%s)", dataset, src, "verified" if md5 else "checksum not given")
