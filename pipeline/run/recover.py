"""What `make repro` does about a stage that failed or was stopped: its exit status in words, and
its outputs put back as dvc.lock records them (its last good run), so that nothing is lost and the
workspace agrees with dvc.lock until the stage runs again."""

from __future__ import annotations

import hashlib
import shutil
import signal
import subprocess
from pathlib import Path
from typing import IO, Callable, Iterable

from pipeline.core.errors import SchedulerError
from pipeline.core.io import atomic_open
from pipeline.run.dvc import stage_outs


def describe(code: int) -> str:
    """An exit status in words: a signal by name (a negative status, or 128 + N from a shell or a
    stage's own handler), SIGKILL with its likely cause; else the number."""
    try:
        sig = signal.Signals(-code if code < 0 else code - 128 if code > 128 else 0)
    except ValueError:
        return f"exit {code}"
    if sig == signal.SIGKILL:
        return (
            "killed (SIGKILL): often the kernel's out-of-memory killer (see `dmesg`), or a kill; "
            "lower batch_size / run with JOBS=1"
        )
    return f"stopped by {sig.name}"


def restore(repo: Path, query: Callable[..., str], name: str) -> str:
    """Put a failed stage's outputs back as `dvc.lock` records them (its last good run): cached ones
    from DVC's cache, `cache: false` ones (git-tracked metrics) from git HEAD when that is the same
    file. A stage never recorded loses its partial outputs. Returns one line saying what was done."""
    outs = stage_outs(repo, name)
    for path, _, _ in outs:  # what an atomic write left behind when killed
        path.with_name(path.name + ".tmp").unlink(missing_ok=True)
    shown = ", ".join(str(path.relative_to(repo)) for path, _, _ in outs)
    if not any(md5 for _, _, md5 in outs):
        for path, _, _ in outs:
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        return f"{name} has no good run in dvc.lock yet: removed its partial outputs ({shown})"
    lost = []
    if any(cached for _, cached, _ in outs):
        try:
            query("checkout", "--force", "--quiet", name)
        except SchedulerError:  # DVC said why
            lost += [path for path, cached, _ in outs if cached]
    for path, cached, md5 in outs:
        if cached or md5 is None or (path.is_file() and hashlib.md5(path.read_bytes()).hexdigest() == md5):
            continue
        rel = path.relative_to(repo).as_posix()
        old = subprocess.run(["git", "show", f"HEAD:{rel}"], cwd=repo, capture_output=True).stdout
        if hashlib.md5(old).hexdigest() == md5:
            with atomic_open(path, "wb") as fh:
                fh.write(old)
        else:
            lost.append(path)
    if lost:
        return (
            f"restored {name}'s outputs as dvc.lock records them, except "
            f"{', '.join(str(p.relative_to(repo)) for p in lost)} (not in the cache or git HEAD: the rerun makes them)"
        )
    return f"restored {name}'s outputs to its last good run, as dvc.lock records them ({shown})"


def put_back(repo: Path, query: Callable[..., str], names: Iterable[str], stream: IO[str]) -> None:
    """`restore` each failed or stopped stage, saying what was done."""
    for name in sorted(names):
        try:
            stream.write(restore(repo, query, name) + "\n")
        except Exception as err:  # noqa: BLE001 - the failure itself is reported all the same
            stream.write(f"could not restore {name}'s outputs ({err}): `dvc checkout --force {name}` does\n")
