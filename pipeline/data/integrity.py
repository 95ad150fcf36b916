"""Corruption checks on load, outside the core so that changing them reruns only their readers.

- Files the pipeline wrote with `save_torch` are zip archives whose members carry a CRC-32 (torch
  computes it by default), which `torch.load` does not check: `verify_zip` does, before loading.
- Archives from upstream are read in memory, member by member: `check_member` refuses names that
  would escape a folder, links and devices, and members too large to hold (a zip bomb), before
  any member is read.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.core.errors import DataError

# No upstream member comes near this (a CIFAR batch is 31 MB); a larger one is a bomb or not the file.
MAX_MEMBER_BYTES = 1 << 30
CHUNK = 1 << 20
# What reading a damaged compressed file raises (a truncated gzip is an EOFError, a damaged
# deflate stream a zlib.error, a bad header or CRC an OSError).
DECODE_ERRORS = (OSError, EOFError, zlib.error, tarfile.TarError, zipfile.BadZipFile)


def one_line(err: BaseException) -> str:
    """An exception's message on one line (torch's span several), for an error that must be one line."""
    return " ".join(str(err).split()) or type(err).__name__


def writer_of(path: str | os.PathLike) -> str | None:
    """The DVC stage that wrote `path`, from dvc.lock in the working directory (None if not found)."""
    import yaml

    try:
        stages = yaml.safe_load(Path("dvc.lock").read_text())["stages"]
        target = Path(os.path.relpath(path))
        return next(
            name for name, stage in stages.items() for out in stage.get("outs", []) if Path(out["path"]) == target
        )
    except (OSError, KeyError, TypeError, AttributeError, StopIteration, yaml.YAMLError, ValueError):
        return None


def rerun_hint(path: str | os.PathLike, kind: str) -> str:
    """'rerun its normalize stage (dvc repro -f -s normalize@digits)', naming the stage when dvc.lock knows it."""
    stage = writer_of(path)
    if stage is None:
        return f"rerun the {kind} stage that writes it (dvc repro -f -s {kind}@<name>)"
    return f"rerun its {stage.split('@')[0]} stage (dvc repro -f -s {stage})"


def verify_zip(path: str | os.PathLike, kind: str) -> None:
    """Check the CRC-32 of every member of a zip written by `save_torch`; a mismatch, a damaged
    archive or a missing file is a DataError naming the file and the stage to rerun (`kind`: the
    stage that writes such files, used when dvc.lock does not name it)."""
    member = None
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                member = info.filename
                with zf.open(info) as fh:  # zipfile checks the header, and the CRC-32 at the end
                    while fh.read(CHUNK):
                        pass
    except FileNotFoundError:
        raise DataError(f"{path}: not found; {rerun_hint(path, kind)}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as err:
        what = "CRC mismatch" if str(err).startswith("Bad CRC-32") else one_line(err)
        where = f" in {member}" if member else ""
        raise DataError(f"{path}: corrupt ({what}{where}); {rerun_hint(path, kind)}") from None


def load_verified(path: str | os.PathLike, kind: str, *, mmap: bool = False) -> Any:
    """`load_torch` after `verify_zip`: for any file the pipeline wrote (splits, tokens, checkpoints)."""
    from pipeline.core.io import load_torch

    verify_zip(path, kind)
    return load_torch(path, mmap=mmap)


# --- files from upstream ---------------------------------------------------------------------


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
