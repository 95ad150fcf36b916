"""One thin script per DVC stage; every path comes from the stage's `cmd` in dvc.yaml.

Runs before a stage imports anything heavy: a Ctrl-C or SIGTERM while torch loads ends the stage
with the one line `pipeline.core.cli.run` gives later, not a traceback; a `python` without the
project's packages (dvc from .venv/bin, .venv not activated) gets one line and exit 2, not a
ModuleNotFoundError. It changes how a stage that cannot finish ends, never what one writes, so it
is no stage's dependency in dvc.yaml."""

import importlib.metadata
import re
import signal
import sys
import tomllib
from pathlib import Path


def _stopped(signum: int, frame: object) -> None:
    sys.stderr.write(
        f"ERROR pipeline: stopped by {signal.Signals(signum).name}: the stage's outputs are not "
        "recorded; run it again\n"
    )
    raise SystemExit(128 + signum)


for _sig, _default in (
    (signal.SIGINT, signal.default_int_handler),
    (signal.SIGTERM, signal.SIG_DFL),
    (signal.SIGHUP, signal.SIG_DFL),
):
    if signal.getsignal(_sig) is _default:  # a signal the caller ignores stays ignored
        signal.signal(_sig, _stopped)

with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as _fh:  # the dependencies, once
    _wanted = [re.match(r"[\w.\-]+", req)[0] for req in tomllib.load(_fh)["project"]["dependencies"]]
_lacking = []
for _name in _wanted:
    try:
        importlib.metadata.distribution(_name)
    except importlib.metadata.PackageNotFoundError:
        _lacking.append(_name)
if _lacking:
    sys.stderr.write(
        f"error: {sys.executable} lacks the project's packages ({', '.join(_lacking[:4])}"
        f"{', ...' if len(_lacking) > 4 else ''}): run `make repro`, or `source .venv/bin/activate` "
        "first so that `python` is the project's\n"
    )
    raise SystemExit(2)
