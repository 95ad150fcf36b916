"""Run the pipeline's out-of-date stages on several cores at once, through DVC itself.

`dvc repro` runs one stage at a time (treeverse/dvc#755), and our stages train single-threaded for
bit-identical results, so on a 2-core machine one core idles. DVC does support several `dvc repro`
processes in one workspace: it releases its repository lock while a stage's command runs and
guards every stage's dependencies and outputs with read/write locks (`.dvc/tmp/rwlock`). This
module schedules that over the whole graph:

1. `dvc status --json` names the stages that changed; they and everything downstream of them
   (from `dvc dag --dot`) are the plan. Nothing changed: nothing more runs (a no-op costs one
   `dvc status`, as much as a no-op `dvc repro`).
2. A planned stage starts, as `dvc --wait-for-lock repro --single-item <stage>`, once every
   planned stage upstream of it has finished, with at most `jobs` running at a time. DVC still
   decides whether it runs, restores it from the run-cache, or skips it, and records it in
   `dvc.lock`, exactly as `dvc repro` does; the outputs are the same bytes.
3. The first failure stops new starts; the stages already running finish (and are recorded), the
   failure is reported with what did not run, and the exit status is non-zero.

Whatever the cause of a failure, the failed stage's outputs go back to its last good run as
`dvc.lock` records it (nothing half-trained stays in the workspace), and the failure says which
signal stopped it and the likely cause. Scheduled stages die with the scheduler (even by `kill -9`),
so no orphan keeps DVC's locks; a second `make repro` in the same folder stops at once.

With `--pull` (`make repro PULL=1`, a teammate), `make pull` comes first (`dvc pull --run-cache`:
every committed output at once), and each planned stage gets `dvc repro --pull`, so a run that the
remote's run-cache holds is downloaded, not computed. (`dvc repro --pull` alone collects the stage
again for every stage it pulls, parsing dvc.lock each time: bench/teammate.py.)

Ready stages start longest-first by the durations of earlier runs on this machine (kept in
`.dvc/tmp/stage-seconds.json`), so the long training chains do not end up alone at the end.

Each stage's output goes to its log (logs/<stage>.log); what the screen shows is pipeline.run.progress.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable

from pipeline.core.errors import PipelineError, SchedulerError
from pipeline.core.io import atomic_open
from pipeline.core.kernels import KERNEL_NOTES
from pipeline.run import lockfile, remote
from pipeline.run.dvc import Dvc, parse_dot
from pipeline.run.progress import Display
from pipeline.run.recover import describe, put_back

# Beside DVC's own temporary files: per machine, never versioned.
SECONDS_FILE = Path(".dvc/tmp/stage-seconds.json")
LOCK_FILE = Path(".dvc/tmp/repro.pid")  # locked while a scheduler runs here; holds its pid


def children_of(upstream: dict[str, set[str]], within: set[str] | None = None) -> dict[str, set[str]]:
    """{stage: the stages that directly depend on it}, counting only stages `within` (default: all)."""
    names = set(upstream).union(*upstream.values()) if within is None else within
    children: dict[str, set[str]] = {name: set() for name in names}
    for name in names:
        for parent in upstream.get(name, ()):
            if parent in names:
                children[parent].add(name)
    return children


def downstream_closure(upstream: dict[str, set[str]], seeds: Iterable[str]) -> set[str]:
    """The seeds and every stage that depends on one of them, directly or not."""
    children = children_of(upstream)
    plan, todo = set(), [s for s in seeds if s in children]
    while todo:
        name = todo.pop()
        if name not in plan:
            plan.add(name)
            todo.extend(children[name])
    return plan


def critical_path(upstream: dict[str, set[str]], plan: set[str], seconds: dict[str, float]) -> dict[str, float]:
    """For each planned stage: its own expected seconds plus the longest planned chain after it
    (unknown stages count 1 s). Starting the largest first keeps long chains off the tail."""
    children = children_of(upstream, plan)
    memo: dict[str, float] = {}

    def length(name: str) -> float:
        if name not in memo:
            memo[name] = seconds.get(name, 1.0) + max((length(c) for c in children[name]), default=0.0)
        return memo[name]

    return {name: length(name) for name in plan}


@dataclass
class Outcome:
    finished: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    failed: dict[str, int] = field(default_factory=dict)  # stage -> exit code
    not_run: set[str] = field(default_factory=set)


def schedule(
    upstream: dict[str, set[str]],
    plan: set[str],
    start: Callable[[str], subprocess.Popen],
    jobs: int,
    priority: dict[str, float],
    poll: float = 0.05,
    ended: Callable[[str, int, float], None] = lambda name, code, seconds: None,
) -> Outcome:
    """Run `plan` with at most `jobs` processes; a stage starts once its planned upstream stages
    finished. `start(stage)` launches one (in a process group of its own) and returns it;
    `ended(stage, exit status, seconds)` is called as each one ends."""
    waiting = set(plan)
    running: dict[str, tuple[subprocess.Popen, float]] = {}
    out = Outcome()
    try:
        while waiting or running:
            for name, (proc, began) in list(running.items()):
                if (code := proc.poll()) is not None:
                    del running[name]
                    seconds = time.perf_counter() - began
                    if code == 0:
                        out.finished[name] = seconds
                    else:
                        out.failed[name] = code
                    ended(name, code, seconds)
            if out.failed:
                if not running:  # the running stages finished and were recorded; nothing new started
                    out.not_run = waiting
                    return out
            else:
                ready = sorted(
                    (n for n in waiting if not (upstream.get(n, set()) & (waiting | running.keys()))),
                    key=lambda n: (-priority.get(n, 0.0), n),
                )
                for name in ready[: max(0, jobs - len(running))]:
                    waiting.discard(name)
                    running[name] = (start(name), time.perf_counter())
            if running:
                time.sleep(poll)
            elif waiting and not out.failed:
                raise SchedulerError(f"stages wait on each other, which a DAG cannot do: {sorted(waiting)}")
    except KeyboardInterrupt as err:
        stop([proc for proc, _ in running.values()])
        err.stopped = sorted(running)  # type: ignore[attr-defined]
        raise
    return out


def stop(procs: list[subprocess.Popen], grace: float = 60.0) -> None:
    """Interrupt each stage as Ctrl-C in a terminal would: SIGINT to its whole process group (DVC
    ignores SIGINT while its command runs and leaves it to the command), then wait; kill what is
    still there after `grace` seconds."""
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def hold_lock(repo: Path) -> IO | None:
    """One scheduler per folder: an exclusive lock on `LOCK_FILE`, which the OS releases when this
    process ends, however it ends. Keep the returned file open while the stages run."""
    if not (repo / ".dvc").is_dir():
        return None  # not a DVC repository: `dvc status` says so
    path = repo / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        pid = fh.read().strip() or "unknown"
        fh.close()
        raise SchedulerError(f"another make repro is running in this folder (pid {pid}); wait for it or stop it")
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh


def load_seconds(repo: Path) -> dict[str, float]:
    """The seconds each stage took on its last run here; {} on a first run or an unreadable file."""
    try:
        data = json.loads((repo / SECONDS_FILE).read_text())
        return {str(k): float(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError):
        return {}  # first run on this machine, or a file we do not understand: no priorities


def save_seconds(repo: Path, seconds: dict[str, float]) -> None:
    """Write each stage's seconds to SECONDS_FILE (rounded, sorted, atomically) for the next run."""
    with atomic_open(repo / SECONDS_FILE) as fh:
        json.dump({k: round(v, 2) for k, v in sorted(seconds.items())}, fh, indent=1)


def reproduce(
    repo: Path, jobs: int, force: bool = False, display: Display | None = None, pull: bool = False
) -> Outcome:
    """What `dvc repro` does for the whole pipeline, `jobs` stages at a time; with `pull`, as
    `dvc repro --pull`: a stage whose run the remote's run-cache holds is downloaded, not computed."""
    display = display or Display(repo)
    dvc = Dvc(repo, display.seen)
    _lock = hold_lock(repo)  # held while this function runs; released when the process ends
    changed = None if force else set(json.loads(dvc.query("status", "--json") or "{}"))
    upstream = parse_dot(dvc.query("dag", "--dot")) if changed is None or changed else {}
    plan = downstream_closure(upstream, upstream if changed is None else changed)
    if not plan:
        display.say("Data and pipelines are up to date.")
        tidy_lock(repo, display)
        return Outcome()
    seconds = load_seconds(repo)
    threads = max(1, cpu_count() // jobs)
    extra = ["--force"] * force + ["--pull"] * pull
    display.plan(plan, len(upstream), jobs)

    def ended(name: str, code: int, took: float) -> None:
        dvc.finish(name)  # its last lines are in its log, so DVC has said what it did
        display.ended(name, took, None if code == 0 else describe(dvc.exits.get(name, code)))

    try:
        out = schedule(
            upstream,
            plan,
            lambda name: dvc.stage(name, extra, threads, display.started(name)),
            jobs,
            critical_path(upstream, plan, seconds),
            ended=ended,
        )
    except KeyboardInterrupt as err:
        display.close()
        put_back(repo, dvc.query, getattr(err, "stopped", []), display.stream)
        raise
    finally:
        dvc.drain()
    save_seconds(repo, {**seconds, **out.finished})
    for name in out.failed:
        out.failed[name] = dvc.exits.get(name, out.failed[name])  # the stage's own status, else DVC's
    display.close()
    put_back(repo, dvc.query, out.failed, display.stream)
    if not out.failed:
        tidy_lock(repo, display)
    return out


def tidy_lock(repo: Path, display: Display) -> None:
    """dvc.lock as dvc.yaml defines it (pipeline/run/lockfile.py), and which machine wrote it if it changed."""
    try:
        if dropped := lockfile.tidy(repo):
            display.say(f"dvc.lock: dropped the entries of stages dvc.yaml no longer defines: {', '.join(dropped)}")
    except (ValueError, PipelineError) as err:  # dvc.yaml or params.yaml unreadable: DVC has said so already
        display.say(f"dvc.lock left as DVC wrote it ({err})")
    lockfile.record_machine(repo)


def say_other_machine(repo: Path, display: Display) -> None:
    """Last of all: why the changed dvc.lock may differ from the committed one, when another kind of
    CPU wrote that (pipeline/run/lockfile.py)."""
    if line := lockfile.other_machine(repo):
        display.say(f"note: {line}")


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt


def cpu_count() -> int:
    """The CPUs this process may use (a container's or `taskset`'s limit, where the OS tells)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    """`make repro` (`python -m pipeline.run.parallel [-j N] [-f]`): run the out-of-date stages; returns 0 when done,
    1 if a stage failed, 2 on a scheduler error, 130 when interrupted."""
    ap = argparse.ArgumentParser(prog="python -m pipeline.run.parallel", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "-j", "--jobs", type=int, default=cpu_count(), help="stages at a time (default: the number of CPUs)"
    )
    ap.add_argument("-f", "--force", action="store_true", help="run every stage again, as `dvc repro --force`")
    ap.add_argument(
        "--pull",
        action="store_true",
        help="first `make pull` (committed outputs and the run-cache of the default remote), then download, "
        "not compute, each out-of-date stage whose run the remote holds (as `dvc repro --pull`)",
    )
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1, got {args.jobs}")
    for note in KERNEL_NOTES:  # the stages inherit the pinned settings, so only this process can say it
        print(f"note: {note}", file=sys.stderr)
    began = time.perf_counter()
    if args.pull and (code := remote.sync("pull")):
        return code  # it said why in one line
    signal.signal(signal.SIGTERM, _interrupted)  # a CI time-out or `kill`: stop the stages too
    display = Display(Path.cwd())
    try:
        out = reproduce(Path.cwd(), args.jobs, args.force, display, args.pull)
    except SchedulerError as err:
        display.close()
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        display.close()
        print(
            "interrupted: the running stages were stopped, not recorded, and their outputs put back as dvc.lock "
            "records them; finished stages are in dvc.lock",
            file=sys.stderr,
        )
        return 130
    if not (out.finished or out.failed):
        say_other_machine(Path.cwd(), display)
        return 0  # nothing to do, and it said so
    display.summary(len(out.not_run), time.perf_counter() - began, args.jobs)
    if out.failed:
        display.failure({name: describe(code) for name, code in out.failed.items()}, out.not_run)
        return 1
    display.next_steps()
    say_other_machine(Path.cwd(), display)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
