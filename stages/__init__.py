"""One thin script per DVC stage; every path comes from the stage's `cmd` in dvc.yaml.

This package runs before a stage imports anything heavy (torch takes seconds): a Ctrl-C or SIGTERM
in those seconds ends the stage with the one line `pipeline.core.cli.run` gives once it has started,
instead of a KeyboardInterrupt traceback from inside an import. It also stops, with one line, a
stage started by an interpreter that lacks the project's packages. It changes how a stage that
cannot finish ends, never what a finished one writes, so it is no stage's dependency in dvc.yaml.
"""

import signal
import sys


def _stopped(signum: int, frame: object) -> None:
    name = signal.Signals(signum).name
    sys.stderr.write(f"ERROR pipeline: stopped by {name}: the stage's outputs are not recorded; run it again\n")
    raise SystemExit(128 + signum)


for _sig, _default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL),
                       (signal.SIGHUP, signal.SIG_DFL)):
    if signal.getsignal(_sig) is _default:  # a signal the caller ignores stays ignored
        signal.signal(_sig, _stopped)


def _missing_packages() -> list[str]:
    """The project's dependencies (pyproject.toml) that this interpreter does not have installed."""
    import importlib.metadata
    import re
    import tomllib
    from pathlib import Path

    with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as fh:
        wanted = [re.match(r"[A-Za-z0-9_.\-]+", req)[0] for req in tomllib.load(fh)["project"]["dependencies"]]
    missing = []
    for name in wanted:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    return missing


# A stage started by a `python` that is not the project's (dvc run from .venv/bin without activating
# it, or from another environment) would fail inside its first import with a traceback.
_lacking = _missing_packages()
if _lacking:
    sys.stderr.write(f"error: {sys.executable} lacks the project's packages ({', '.join(_lacking[:4])}"
                     f"{', ...' if len(_lacking) > 4 else ''}): run `make repro`, or `source .venv/bin/activate` "
                     "first so that `python` is the project's\n")
    raise SystemExit(2)
