"""Download one file from a list of URLs: streamed with a progress bar to a temporary name while
its hash is computed, retried with backoff on transient errors, then the next URL; renamed into
place only once the hash matches. A host that does not answer is skipped for later files."""

from __future__ import annotations

import hashlib
import http.client
import logging
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.errors import DataError

log = logging.getLogger(__name__)

CHUNK = 1 << 20
BACKOFF_S = 0.5  # first retry wait; doubles each attempt
USER_AGENT = "course-pipeline/0.1 (+https://dvc.org)"


@dataclass
class Attempt:
    url: str
    problem: str


# How a URL failed beyond what a retry mends (a failure it may mend is an OSError).
PERMANENT = "permanent"  # this URL will not work however often we ask (404, wrong checksum): next mirror
UNREACHABLE = "unreachable"  # the mirror's host did not answer at all: skip it for the remaining files too


@dataclass(frozen=True)
class Checksum:
    algorithm: str  # a hashlib name
    expected: str  # the full digest, or a prefix of it when `prefix` is set
    prefix: bool = False

    def matches(self, digest: str) -> bool:
        """Whether `digest` is the expected one (or starts with it, when only a prefix is known)."""
        return digest.startswith(self.expected) if self.prefix else digest == self.expected


def download(
    name: str,
    urls: list[str],
    checksum: Checksum,
    target: Path,
    retries: int,
    timeout_s: float,
    what: str,
    key: str,
    dead: set[str] | None = None,
) -> None:
    """Download `name` from the first of `urls` that yields a verified copy, into `target`."""
    dead = set() if dead is None else dead
    attempts: list[Attempt] = []
    for url in urls:
        mirror = url.rsplit("/", 1)[0] + "/"
        if mirror in dead:
            attempts.append(Attempt(url, "skipped: mirror unreachable for an earlier file"))
            continue
        for attempt in range(1, retries + 1):
            try:
                failed = _stream(url, target, checksum, timeout_s)
            except (OSError, http.client.HTTPException) as err:  # transient: retry this mirror
                attempts.append(Attempt(url, f"attempt {attempt}: {err}"))
                if attempt < retries:
                    time.sleep(BACKOFF_S * 2 ** (attempt - 1))
                continue
            if failed is None:
                log.info("%s: downloaded %s from %s", what, name, url)
                return
            how, why = failed
            attempts.append(Attempt(url, why))
            if how == UNREACHABLE:
                dead.add(mirror)
            break
    tried = "\n".join(f"    {a.url}: {a.problem}" for a in attempts)
    where = "mirrors" if key.startswith("download.") else "url"
    local = "local_dir to a folder that already holds" if key.startswith("download.") else "local_file to a copy of"
    raise DataError(
        f"could not download {name} for {what}; tried:\n{tried}\n"
        f"  fix: check the network, set {key}.{where} to a reachable copy, "
        f"or set {key}.{local} {name}"
    )


def _stream(url: str, target: Path, checksum: Checksum, timeout: float) -> tuple[str, str] | None:
    """Download `url` to `target` through a temporary file: None once complete and verified, (PERMANENT
    or UNREACHABLE, why) for a failure no retry mends, an OSError for one that a retry may."""
    from tqdm import tqdm

    tmp = target.with_name(target.name + ".download")
    digest = hashlib.new(checksum.algorithm, usedforsecurity=False)
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
        if not checksum.matches(digest.hexdigest()):
            return PERMANENT, (
                f"{checksum.algorithm.upper()} {digest.hexdigest()} does not match the expected "
                f"{checksum.expected}{'...' if checksum.prefix else ''}"
            )
        tmp.rename(target)
        return None
    except urllib.error.HTTPError as err:
        if err.code in (408, 429) or err.code >= 500:
            raise OSError(f"HTTP {err.code} {err.reason}") from None
        return PERMANENT, f"HTTP {err.code} {err.reason}"
    except urllib.error.URLError as err:
        if isinstance(err.reason, (ConnectionRefusedError, socket.gaierror)):
            return UNREACHABLE, f"unreachable ({err.reason})"
        if isinstance(err.reason, FileNotFoundError):  # a file:// mirror without this file
            return PERMANENT, f"not found ({err.reason})"
        raise OSError(str(err.reason)) from None
    finally:
        tmp.unlink(missing_ok=True)
