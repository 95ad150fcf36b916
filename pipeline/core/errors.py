"""Errors a user can act on. Each message names the file or key at fault and the fix."""

from __future__ import annotations

import os
from pathlib import Path


class PipelineError(Exception):
    """Base class: a stage that raises one exits with status 2 and prints only the message."""


class ConfigError(PipelineError):
    """params.yaml is invalid: unknown key, wrong type or impossible value."""


class DataError(PipelineError):
    """A data file is missing, corrupt, fails its checksum or could not be downloaded."""


class TrainingError(PipelineError):
    """Training diverged or produced nothing usable."""


class ExportError(PipelineError):
    """An exported model does not reproduce the eager model's outputs."""


class ExportFolderError(PipelineError):
    """The folder is not a usable export, or the runtime or device asked for is not available."""


class CppError(PipelineError):
    """The C++ program cannot be built, or failed on an input."""


class SchedulerError(PipelineError):
    """DVC could not tell the scheduler what to run (its message says why)."""


class RemoteError(PipelineError):
    """No remote to talk to (exit 2): the message says how to add one."""


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
