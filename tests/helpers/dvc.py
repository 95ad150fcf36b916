"""What the real `dvc` CLI (or `make repro`'s scheduler) said and left, read one way for every test:
which stages ran or came back from the run-cache, which are stale, and edits that make them so."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from pipeline.run.progress import RAN, RESTORED, statuses


def ran(proc: subprocess.CompletedProcess) -> set[str]:
    """The stages that computed, from `dvc repro`'s words or the scheduler's end lines."""
    return {name for name, status in statuses(proc.stdout).items() if status == RAN}


def restored(proc: subprocess.CompletedProcess) -> set[str]:
    """The stages whose outputs came back from the run-cache instead of computing."""
    return {name for name, status in statuses(proc.stdout).items() if status == RESTORED}


def stale(project) -> set[str]:
    """The stages `dvc status` calls out of date."""
    return set(project.status())


def edit_params(project, change: Callable[[dict], None]) -> None:
    """Apply `change` to the project's params.yaml (a dict, changed in place)."""
    params = project.read_params()
    change(params)
    project.write_params(params)


def append(project, path: str, text: str = "\n# an edit\n") -> None:
    """An edit that changes a file's bytes and nothing it means."""
    with (project.path / path).open("a") as fh:
        fh.write(text)
