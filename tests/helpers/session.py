"""What a test session builds once, whatever the number of xdist workers: a folder every worker
sees, a lock around each build (the pattern pytest-xdist documents), and one DVC cache, run-cache
included, that every project the tests make can point at."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

DONE = ".built"  # written last: a build that failed half-way is built again by the next worker


def shared_root(tmp_path_factory) -> Path:
    """The session's folder shared by every worker: the parent of a worker's base temp under
    xdist (pytest-of-<user>/pytest-<n>/), the base temp itself in a plain run."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """Folder `name` under the shared root, filled by `build(folder)` by whichever worker asks
    first; the others wait for it and reuse it."""
    root = shared_root(tmp_path_factory)
    folder = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (folder / DONE).is_file():
            shutil.rmtree(folder, ignore_errors=True)  # what a failed attempt left
            folder.mkdir(parents=True)
            build(folder)
            (folder / DONE).write_text("")
    return folder


def use_cache(project_path: Path, cache: Path) -> None:
    """Point a DVC project at the session's cache (its --local config, as a teammate's clone on the
    same machine would): outputs and run-cache shared, files copied out of it (never linked, so a
    test that damages an output cannot damage the cache)."""
    config = project_path / ".dvc" / "config.local"
    config.write_text(f"[cache]\n    dir = {cache}\n")
