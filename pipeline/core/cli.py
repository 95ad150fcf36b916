"""What every stage script shares: its command line, logging, and one line with no traceback for a
user error, a full disk, no memory or a signal."""

import argparse
import contextlib
import ctypes
import errno
import logging
import os
import shutil
import signal
import sys
import threading
import time
from typing import Any, Callable

from pipeline.core.errors import PipelineError
from pipeline.core.kernels import KERNEL_NOTES
from pipeline.core.params import read_yaml

log = logging.getLogger("pipeline")
_OUTPUTS: dict[str, int | None] = {}  # this stage's outputs -> their mtime when it started (None: absent)
# The outputs of every training stage (pipeline.training.engine.loop.Outputs reads them back): (option, help) pairs.
TRAINING_OUTPUTS = (
    ("checkpoint", "output: best checkpoint"),
    ("loss-curve", "output: loss per epoch (CSV)"),
    ("accuracy-curve", "output: accuracy per epoch (CSV)"),
)
# The progress lines stages log, written by pipeline.training (an epoch: training.engine.loop; a step:
# training.style) and read back for the live line by pipeline.run.progress (and by the tests).
EPOCH_LINE = "epoch %3d/%d  train loss %.4f acc %.4f | val loss %.4f acc %.4f%s"
STEP_LINE = "step %4d/%d  content %.4g  style %.4g  total %.4g"
# Under torchrun, why a rank stopped when another ended first (pipeline.training.engine.distributed says it too).
RANKS_END_TOGETHER = "torchrun stops every rank when one ends; its report below says which rank and why"
# Faults that are no bug, and their fix. ENOMEM also stands for MemoryError and torch's out-of-memory.
FIXES = {
    errno.ENOSPC: "the disk is full: free space",
    errno.EDQUOT: "the disk quota is used up: free space",
    errno.EFBIG: "a file is over the size limit: raise `ulimit -f` or free space",
    errno.ENOMEM: "out of memory: lower batch_size or the model's size, or run one stage at a time (JOBS=1)",
}


def arguments(doc: str | None, entry: str | None, *files: tuple[str, str]) -> tuple[argparse.Namespace, Any]:
    """Parse a stage's command line: `entry` (a model or a dataset; None for a stage of the whole
    pipeline), a required `--<option>` per (option, help) pair, and `--params`. Returns them and
    params.yaml as read."""
    ap = argparse.ArgumentParser(description=doc)
    if entry is not None:
        ap.add_argument(entry)
    for option, what in files:
        ap.add_argument(f"--{option}", required=True, help=what)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args()
    outputs = (getattr(args, option.replace("-", "_")) for option, what in files if what.startswith("output"))
    _OUTPUTS.update((path, _stamp(path)) for path in outputs)
    return args, read_yaml(args.params)


def _stamp(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def discard_outputs() -> None:
    """Remove what a failed run wrote: each declared output (an option whose help says "output")
    created or changed since the stage started. Under DVC none existed then (DVC removes them
    first); run by hand, an output this run did not touch stays."""
    for path, before in _OUTPUTS.items():
        if (now := _stamp(path)) is not None and now != before:
            with contextlib.suppress(OSError):
                shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)


def verdict(err: BaseException | None) -> tuple[str, int] | None:
    """One line and the exit status for a user error (2), a signal (128 + its number), a full disk or
    no memory (1), found in `err` or what it wraps (torch.save wraps OSErrors); None for a bug."""
    if isinstance(err, PipelineError):
        return str(err), 2
    if isinstance(err, KeyboardInterrupt):  # Ctrl-C, or a signal through _stop
        sig = signal.Signals(err.args[0] if err.args else signal.SIGINT)
        return f"stopped by {sig.name}: the stage's outputs are not recorded; run it again", 128 + sig
    while err is not None and not isinstance(err, SystemExit):
        memory = isinstance(err, MemoryError) or any(s in str(err) for s in ("allocate memory", "out of memory"))
        if (code := errno.ENOMEM if memory else getattr(err, "errno", None)) in FIXES:
            detail = str(err).partition("\n")[0][-160:] or type(err).__name__
            return f"{FIXES[code]}, then run again ({detail})", 1
        err = err.__cause__ or err.__context__
    return None


def _stop(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(signum)


def _ended(pid: int) -> bool:
    """Whether process `pid` ended: gone, a zombie, or its number taken by a process that leads no group."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rpartition(")")[2].split()[0] in ("Z", "X") or os.getpgid(pid) != pid
    except (FileNotFoundError, ProcessLookupError):
        return True


def _watch(leader: int) -> None:
    """SIGTERM to this stage when `leader` (DVC) ends: a shell that does not exec DVC's `$SHELL -c`
    (dash) stays between them as the stage's parent, outliving DVC, so PDEATHSIG is not enough."""
    while not _ended(leader):
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def run(main: Callable[[], None]) -> None:
    """Run a stage's `main`; what `verdict` knows exits with one line. On Linux the stage gets SIGTERM
    when its parent dies, and under `make repro` when DVC dies, so that no orphan runs on."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    for note in KERNEL_NOTES:  # what pinning the CPU kernels replaced, or why it could not (pipeline/core/kernels.py)
        log.info("%s", note)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    try:
        linux = sys.platform == "linux"  # /proc and prctl; elsewhere an orphan may run on
        if linux:
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1 is PR_SET_PDEATHSIG
        # Under `make repro` DVC leads the stage's process group (elsewhere the leader may be a shell
        # that ended long ago): if it died already, stop now, else watch it.
        if linux and os.environ.get("PIPELINE_SCHEDULED") and (leader := os.getpgrp()) != os.getpid():
            if _ended(leader):
                raise KeyboardInterrupt(signal.SIGTERM)
            threading.Thread(target=_watch, args=(leader,), name="watch-dvc", daemon=True).start()
        main()
    except BaseException as err:
        if isinstance(err, SystemExit) and not err.code:
            raise  # a success (a rank that has nothing to do)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):  # a second signal (torchrun's, after a
            signal.signal(sig, signal.SIG_IGN)  # rank failed) must not cut the clean-up and its one line short
        discard_outputs()
        if (found := verdict(err)) is None:
            raise
        line, code = found
        if (ranks := os.environ.get("WORLD_SIZE", "1")) != "1":  # one rank of several, under torchrun
            stopped = f" ({RANKS_END_TOGETHER})" if isinstance(err, KeyboardInterrupt) else ""
            line = f"rank {os.environ.get('RANK', '0')} of {ranks}: {line}{stopped}"
        log.error("%s", line)
        raise SystemExit(code) from None
