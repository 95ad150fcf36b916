"""Checks on the archives that come from upstream (the pipeline's own files are checked on load by
`pipeline.core.io.load_verified`).

Archives are read in memory, member by member: `check_member` refuses names that would escape a
folder, links and devices, and members too large to hold (a zip bomb), before any member is read.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from pipeline.core.errors import DataError

# No upstream member comes near this (a CIFAR batch is 31 MB); a larger one is a bomb or not the file.
MAX_MEMBER_BYTES = 1 << 30
# What reading a damaged compressed file raises (a truncated gzip is an EOFError, a damaged
# deflate stream a zlib.error, a bad header or CRC an OSError).
DECODE_ERRORS = (OSError, EOFError, zlib.error, tarfile.TarError, zipfile.BadZipFile)


def refetch(path: str | os.PathLike) -> str:
    """The fix for a damaged upstream file: fetch it again (files live in data/raw/<dataset>/)."""
    return (
        f"rerun its download stage (dvc repro -f -s download@{Path(path).parent.name}); "
        "if that fails again, check the mirror"
    )


def _unsafe_name(name: str) -> bool:
    p = PurePosixPath(name.replace("\\", "/"))
    return p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":")


def check_member(archive: str | os.PathLike, member: zipfile.ZipInfo | tarfile.TarInfo, fix: str) -> None:
    """Refuse a member that could escape a folder (absolute path, '..'), is not a plain file or
    folder (a link, a device), or declares more than MAX_MEMBER_BYTES. `fix` ends the message."""
    if isinstance(member, zipfile.ZipInfo):
        name, size = member.filename, member.file_size
        mode = member.external_attr >> 16
        link = (mode & 0o170000) == 0o120000  # S_IFLNK in the Unix mode a zip may carry
        plain = True
    else:
        name, size = member.name, member.size
        link = member.issym() or member.islnk()
        plain = member.isfile() or member.isdir()
    if _unsafe_name(name):
        raise DataError(
            f"{archive}: member {name!r} has an unsafe path (absolute or with '..'); refusing the archive: {fix}"
        )
    if link:
        raise DataError(
            f"{archive}: member {name!r} is a link; refusing the archive (only plain files are read): {fix}"
        )
    if not plain:
        raise DataError(f"{archive}: member {name!r} is not a plain file; refusing the archive: {fix}")
    if size > MAX_MEMBER_BYTES:
        raise DataError(
            f"{archive}: member {name!r} declares {size:,} bytes, more than the {MAX_MEMBER_BYTES:,} "
            f"allowed (a zip bomb?); refusing the archive: {fix}"
        )
