"""Atomic file writes: write `name.tmp` beside the target, then `os.replace` it into place,
so a crash never leaves a half-written output that DVC could cache. Files the pipeline wrote with
`save_torch` are zip archives whose members carry a CRC-32, which `torch.load` does not check:
`load_verified` checks it first."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import IO, Any, Iterator, Sequence

from pipeline.core.errors import DataError, one_line, rerun_hint

CHUNK = 1 << 20


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside `path`; on success move it over `path`, on error delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    kwargs = {"newline": ""} if "b" not in mode else {}
    try:
        with open(tmp, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write JSON with sorted keys and a trailing newline, so equal data gives equal bytes."""
    with atomic_open(path) as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")


def read_json(path: str | os.PathLike) -> Any:
    """The value in the JSON file at `path`."""
    return json.loads(Path(path).read_text())


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Write a header row, then `rows`, as CSV with Unix line ends, atomically."""
    with atomic_open(path) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def save_torch(obj: Any, path: str | os.PathLike) -> None:
    """`torch.save` through an open file, so the archive's inner folder is always `archive` (not the
    file's name): the same object gives the same bytes wherever it is saved."""
    import torch

    with atomic_open(path, "wb") as fh:
        torch.save(obj, fh)


def load_torch(path: str | os.PathLike, *, mmap: bool = False) -> Any:
    """Load a file written by `save_torch`; tensors, containers and plain values only."""
    import torch

    return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)


def write_png(picture: Any, path: str | os.PathLike) -> None:
    """A uint8 image array (height, width[, channels]) as a PNG file, atomically: Pillow's bytes,
    the same every run. (matplotlib pictures: pipeline.inspection.figures.save_png.)"""
    from PIL import Image

    with atomic_open(path, "wb") as fh:
        Image.fromarray(picture).save(fh, format="PNG")


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
    verify_zip(path, kind)
    return load_torch(path, mmap=mmap)
