"""What `make repro` shows while its stages run (pipeline.run.parallel runs them).

Every stage's full output, DVC's and its own, goes to `logs/<stage>.log`, rewritten each time the
stage is checked. The screen gets one line per stage as it starts and one as it ends, with what DVC
did (it ran the stage, restored its outputs from the run-cache, or found it up to date) or that it
failed, and the seconds it took. On a terminal each running stage also has a live line (tqdm) with
its epoch or step k/N, its loss and its rate, read from what training logs; in a pipe (CI, `tee`)
there are only the start and end lines, with no carriage returns. At the end: a table, and where
to look next; after a failure, the last lines of the failed stage's log instead.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable

from tqdm import tqdm

from pipeline.core.cli import EPOCH_LINE, STEP_LINE
from pipeline.run.dvc import DVC_SAYS, FAILED, RAN, RESTORED, UP_TO_DATE

LOGS = Path("logs")  # every stage's full output, beside dvc.yaml (ignored by git)
TAIL = 30  # lines of a failed stage's log shown on the screen

# What a stage logs as it goes: pipeline.training.engine.loop.fit per epoch, pipeline.training.style per step
_UNITS = "|".join(line.split()[0] for line in (EPOCH_LINE, STEP_LINE))  # epoch|step
_STEP = re.compile(rf"\b(?P<unit>{_UNITS})\s+(?P<k>\d+)/(?P<n>\d+)\b(?P<rest>.*)")
_LOSS = re.compile(r"\b(?:train loss|total)\s+(?P<loss>[-+.\w]+)")
_VAL_LOSS = re.compile(r"\bval loss\s+(?P<loss>[-+.\w]+)")
# The end line of each stage: `<stage>  <status>, <seconds> s`
_END = re.compile(rf"(?P<name>\S+)\s+(?P<status>{RAN}|{RESTORED}|{UP_TO_DATE}|{FAILED}), [\d.]+ s\b")
_RUNNING = "  {desc}  running  {elapsed}"
_STEPPING = "  {{desc}}  {unit} {{n}}/{{total}} {{bar:12}} {said}  {{elapsed}}<{{remaining}}"


def log_path(repo: Path, name: str) -> Path:
    """Where a stage's output goes (`train@mlp` -> logs/train@mlp.log)."""
    return repo / LOGS / (re.sub(r"[^\w@.+=-]", "_", name) + ".log")


def statuses(text: str) -> dict[str, str]:
    """{stage: status} from what the scheduler printed (its end lines) or `dvc repro` (DVC's own words)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        for pattern, status in DVC_SAYS:
            if said := pattern.search(line):
                found[said["name"]] = status
        if end := _END.match(line):
            found[end["name"]] = end["status"]
    return found


def on_a_terminal(stream: IO[str]) -> bool:
    """Whether `stream` is a terminal that can redraw live lines (TERM not dumb)."""
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def _sized(stream: IO[str]) -> bool:
    try:
        return min(os.get_terminal_size(stream.fileno())) > 0
    except (OSError, ValueError, AttributeError):
        return False


@dataclass
class Stage:
    name: str
    status: str | None = None  # what DVC said it did
    seconds: float = 0.0
    bar: tqdm | None = None  # its live line, on a terminal


class Display:
    """The screen of one `make repro`. `started` and `ended` come from the scheduler, `seen` from
    the threads that read the stages' output (one line at a time, already in the log)."""

    def __init__(self, repo: Path, stream: IO[str] | None = None, live: bool | None = None) -> None:
        self.repo, self.stream = repo, stream or sys.stdout
        self.live = on_a_terminal(self.stream) if live is None else live
        self.stages: dict[str, Stage] = {}
        self.width = 0
        self._lock = threading.RLock()
        self._closed = threading.Event()
        if self.live:  # the live lines' clocks move even while a stage says nothing
            threading.Thread(target=self._tick, daemon=True).start()

    def say(self, text: str) -> None:
        """A line above the live ones."""
        with self._lock:
            if self.live and not self._closed.is_set():
                tqdm.write(text, file=self.stream)
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def plan(self, names: Iterable[str], total: int, jobs: int) -> None:
        """The first line: how many stages are checked, how many at a time, where their output goes."""
        names = list(names)
        self.width = max(map(len, names), default=0)  # the start and end lines' names line up
        self.say(
            f"{len(names)} of {total} stages to check, {jobs} at a time; each stage's output goes to {LOGS}/<stage>.log"
        )

    def started(self, name: str) -> Path:
        """The start line; returns the log the stage's output goes to."""
        path = log_path(self.repo, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            stage = self.stages[name] = Stage(name)
            self.say(f"{name:<{self.width}}  started")
            if self.live and not self._closed.is_set():
                sized = _sized(self.stream)  # a terminal that says its size (a new pty says 0 x 0)
                stage.bar = tqdm(
                    total=None,
                    desc=f"{name:<{self.width}}",
                    file=self.stream,
                    leave=False,
                    bar_format=_RUNNING,
                    dynamic_ncols=sized,
                    ncols=None if sized else 100,
                    nrows=None if sized else 24,
                )
        return path

    def seen(self, name: str, text: str) -> None:
        """One line of a stage's output: what DVC does with it, or how far its training is."""
        with self._lock:
            stage = self.stages.get(name)
            if stage is None:
                return
            for pattern, status in DVC_SAYS:
                if pattern.search(text):
                    stage.status = status
                    return
            if stage.bar is not None and not self._closed.is_set() and (step := _STEP.search(text)):
                self._advance(stage.bar, step)

    @staticmethod
    def _advance(bar: tqdm, step: re.Match) -> None:
        k, n, unit = int(step["k"]), int(step["n"]), step["unit"]
        said = [
            f"{what} {found['loss']}"
            for what, pattern in (("loss", _LOSS), ("val", _VAL_LOSS))
            if (found := pattern.search(step["rest"]))
        ]
        if k < bar.n:  # training again (tabular restarts): count again, the clock goes on
            bar.n = bar.last_print_n = 0
        bar.total = n
        bar.bar_format = _STEPPING.format(unit=unit, said="  ".join(said))  # should tqdm redraw in `update`
        bar.update(k - bar.n)  # tqdm's rate: a moving average over the times between these lines
        if rate := bar.format_dict["rate"]:
            said.append(f"{1 / rate:.1f} s/{unit}" if rate < 1 else f"{rate:.1f} {unit}s/s")
        bar.bar_format = _STEPPING.format(unit=unit, said="  ".join(said))
        bar.refresh()

    def ended(self, name: str, seconds: float, why: str | None = None) -> str:
        """The end line: the status DVC gave the stage, or `failed` (`why` says how); returns the status."""
        with self._lock:
            stage = self.stages.setdefault(name, Stage(name))
            stage.seconds = seconds
            stage.status = FAILED if why else stage.status or RAN
            if stage.bar is not None:
                stage.bar.close()
                stage.bar = None
            self.say(f"{name:<{self.width}}  {stage.status}, {seconds:.1f} s" + (f" ({why})" if why else ""))
            return stage.status

    def close(self) -> None:
        """Take the live lines off the screen (the end of the run, or an interrupt)."""
        with self._lock:
            self._closed.set()
            for stage in self.stages.values():
                if stage.bar is not None:
                    stage.bar.close()
                    stage.bar = None

    def _tick(self) -> None:
        while not self._closed.wait(1.0):
            with self._lock:
                for stage in self.stages.values():
                    if stage.bar is not None:
                        stage.bar.refresh()

    # --- after the run ---------------------------------------------------------------------

    def summary(self, not_run: int, seconds: float, jobs: int) -> None:
        """The table of what was done (the stages found up to date on one line), and the totals."""
        self.close()
        done = sorted(self.stages.values(), key=lambda s: (s.status != FAILED, -s.seconds, s.name))
        shown = [s for s in done if s.status != UP_TO_DATE]
        quiet = [s for s in done if s.status == UP_TO_DATE]
        width = max([len(s.name) for s in shown] + [len("(the other 99)")])
        lines = ["", f"{'stage':<{width}}  {'status':<27}  seconds"]
        lines += [f"{s.name:<{width}}  {s.status:<27}  {s.seconds:7.1f}" for s in shown]
        if quiet:
            lines.append(
                f"{f'(the other {len(quiet)})' if shown else f'(all {len(quiet)})':<{width}}  "
                f"{UP_TO_DATE:<27}  {sum(s.seconds for s in quiet):7.1f}"
            )
        counts = {status: sum(s.status == status for s in done) for status in (RAN, RESTORED, UP_TO_DATE, FAILED)}
        counts["not run"] = not_run
        lines.append(
            f"{len(done) + not_run} stages checked in {seconds:.0f} s, {jobs} at a time: "
            + ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        )
        self.say("\n".join(lines))

    def next_steps(self) -> None:
        """Where to look once the pipeline has run."""
        longest = max(self.stages.values(), key=lambda s: s.seconds, default=None)
        example = log_path(Path(), longest.name) if longest else f"{LOGS}/<stage>.log"
        places = []
        if (self.repo / "reports" / "index.html").exists():  # the report stage ran here
            places.append(("reports/index.html", "the report: every model's metrics, curves and samples (a browser)"))
        places += [
            ("dvc metrics show", "every model's metrics as a table"),
            ("dvc plots show", "the learning curves and confusion matrices as a web page"),
            (f"{LOGS}/", f"each stage's full output, e.g. {example}"),
        ]
        self.say("\n".join(["", "Where to look next:", *(f"  {where:<19}  {what}" for where, what in places)]))

    def failure(self, failed: dict[str, str], not_run: Iterable[str], stream: IO[str] | None = None) -> None:
        """The failed stages (stage -> how, in words), each with the end of its log; what did not
        run; how to go on. To stderr unless `stream` is given."""
        self.close()
        self.stream.flush()
        stream = stream or sys.stderr
        lines = [f"error: stage failed: {', '.join(f'{name} ({why})' for name, why in sorted(failed.items()))}"]
        for name in sorted(failed):
            path = log_path(self.repo, name)
            try:
                tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-TAIL:]
            except OSError:
                tail = ["(no output)"]
            lines += [
                f"{name}'s last {len(tail)} lines (its whole output is in {path.relative_to(self.repo)}):",
                *(f"  {line}" for line in tail),
            ]
        if not_run := sorted(not_run):
            lines.append(f"not run: {', '.join(not_run)}")
        lines.append("Finished stages are recorded in dvc.lock; fix the cause and run again to go on from there.")
        stream.write("\n".join(lines) + "\n")
        stream.flush()
