"""One thin script per DVC stage; every path comes from the stage's `cmd` in dvc.yaml.

This package runs before a stage imports anything heavy (torch takes seconds): a Ctrl-C or SIGTERM
in those seconds ends the stage with the one line `pipeline.core.cli.run` gives once it has started,
instead of a KeyboardInterrupt traceback from inside an import. It changes how a stopped stage
ends, never what a finished one writes, so it is no stage's dependency in dvc.yaml.
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
