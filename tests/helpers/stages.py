"""A stage script run as dvc.yaml runs it, and the one way a test reads the error a user gets."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from tests.helpers.project import ROOT, tool_env


def run_stage(
    name: str, *args, params: Path | None = None, cwd: Path = ROOT, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """`python -m stages.<name> ARGS [--params PARAMS]` with the project's interpreter; not checked."""
    cmd = [sys.executable, "-m", f"stages.{name}", *map(str, args)]
    if params is not None:
        cmd += ["--params", str(params)]
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=tool_env() | {"PYTHONPATH": str(ROOT)} | (env or {}),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stage_ok(name: str, *args, **kw) -> subprocess.CompletedProcess:
    """run_stage, which must succeed."""
    proc = run_stage(name, *args, **kw)
    assert proc.returncode == 0, f"stages.{name} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return proc


def error_line(stderr: str, alone: bool = False) -> str:
    """The one error line in `stderr` (a stage's `ERROR ...`, a tool's `error: ...`), no traceback;
    `alone`: nothing else printed at all."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = lines if alone else [line for line in lines if line.startswith(("ERROR", "error:"))]
    assert len(errors) == 1 and "Traceback" not in stderr, stderr[-3000:]
    return errors[0]


def one_error_line(
    proc: subprocess.CompletedProcess, code: int = 2, unwritten: Iterable[Path] = (), alone: bool = False
) -> str:
    """What the pipeline promises for bad input: exit `code`, exactly one error line and no
    traceback, and none of `unwritten` on disk. Returns the line."""
    assert proc.returncode == code, (proc.returncode, proc.stderr[-3000:])
    line = error_line(proc.stderr, alone)
    left = [str(p) for p in unwritten if Path(p).exists()]
    assert not left, f"written despite the error: {left}"
    return line
