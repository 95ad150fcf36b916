"""The faults of the fault matrix (bench/faults.py): each one applied to a project copy, returning
what undoes it (the fix a user would make; nothing, where a plain rerun is the fix)."""

from __future__ import annotations

import hashlib
import shutil
from typing import Callable

from tests.helpers.project import Project


def params_edit(edit: Callable[[dict], None]) -> Callable[[Project], Callable[[], None]]:
    def apply(proj: Project) -> Callable[[], None]:
        before = (proj.path / "params.yaml").read_text()
        p = proj.read_params()
        edit(p)
        proj.write_params(p)
        return lambda: (proj.path / "params.yaml").write_text(before)

    return apply


def file_edit(rel: str, damage: Callable[[bytes], bytes]) -> Callable[[Project], Callable[[], None]]:
    """Damage a file; undoing is the user's plain rerun (DVC sees the output changed)."""

    def apply(proj: Project) -> Callable[[], None]:
        path = proj.path / rel
        data = path.read_bytes()
        path.unlink()  # DVC may have linked it to its cache: never write through the link
        path.write_bytes(damage(data))
        return lambda: None

    return apply


def zero_middle(data: bytes) -> bytes:
    mid = len(data) // 2
    return data[:mid] + bytes(64) + data[mid + 64 :]


def set_key(*keys: str, value) -> Callable[[dict], None]:
    def edit(p: dict) -> None:
        for k in keys[:-1]:
            p = p[k]
        p[keys[-1]] = value

    return edit


def delete(*keys: str) -> Callable[[dict], None]:
    def edit(p: dict) -> None:
        for k in keys[:-1]:
            p = p[k]
        del p[keys[-1]]

    return edit


def typo_label_map(p: dict) -> None:
    p["transfer"]["transfer"]["label_map"]["8"] = "eveb"


def no_fault(proj: Project) -> Callable[[], None]:
    return lambda: None


def no_run_cache(rel: str) -> Callable[[Project], Callable[[], None]]:
    """An output deleted and the run-cache emptied, so that its stage must run (not be restored)."""

    def apply(proj: Project) -> Callable[[], None]:
        (proj.path / rel).unlink()
        shutil.rmtree(proj.path / ".dvc" / "cache" / "runs", ignore_errors=True)
        return lambda: None

    return apply


def uncached(rel: str) -> Callable[[Project], Callable[[], None]]:
    """An output deleted from the workspace and from DVC's cache: only a remote has it."""

    def apply(proj: Project) -> Callable[[], None]:
        path = proj.path / rel
        md5 = hashlib.md5(path.read_bytes()).hexdigest()
        (proj.path / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).unlink()
        path.unlink()
        return lambda: None

    return apply


def disk_full(rel: str) -> Callable[[Project], Callable[[], None]]:
    """A real ENOSPC on the stage's write of `rel`: its temporary file (pipeline.core.io.atomic_open)
    is a link to /dev/full; the output itself is removed so that the stage is out of date."""

    def apply(proj: Project) -> Callable[[], None]:
        path = proj.path / rel
        path.unlink()
        tmp = path.with_name(path.name + ".tmp")
        tmp.symlink_to("/dev/full")
        return lambda: tmp.unlink(missing_ok=True)

    return apply
