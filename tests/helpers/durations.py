"""Every test's duration, kept after each run (pytest plugin, loaded by tests/conftest.py): the
controller (or the only process, without xdist) writes test-output/durations.tsv, one line per test
(setup, call, teardown, total seconds, outcome), slowest first, and test-output/durations-by-file.tsv.
A run of the whole suite (`make test`: pytest with no arguments) writes them again as
full-durations.tsv and full-durations-by-file.tsv, which a run of a few tests leaves alone. The
README's test-suite figures come from those; they are not committed."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

import pytest

OUT = Path(__file__).resolve().parents[2] / "test-output"
PHASES = ("setup", "call", "teardown")

_seconds: dict[str, dict[str, float]] = defaultdict(dict)
_outcome: dict[str, str] = {}
_started: list[float] = []


def _controller() -> bool:
    return "PYTEST_XDIST_WORKER" not in os.environ  # a worker's reports reach the controller too


def pytest_sessionstart(session) -> None:
    _started.append(time.monotonic())


def pytest_runtest_logreport(report) -> None:
    if not _controller():
        return
    _seconds[report.nodeid][report.when] = report.duration
    if report.failed and report.when != "call":
        _outcome[report.nodeid] = "error"  # a fixture's setup or teardown failed
    elif report.when == "call" or report.skipped:
        _outcome.setdefault(report.nodeid, report.outcome)


def _write(path: Path, lines: list[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus) -> None:
    if not _controller() or not _seconds:
        return
    wall = time.monotonic() - _started[0]
    total = {nodeid: sum(phases.values()) for nodeid, phases in _seconds.items()}
    counts: dict[str, int] = defaultdict(int)
    for outcome in _outcome.values():
        counts[outcome] += 1
    said = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    head = f"# {len(total)} tests ({said}) in {wall:.0f} s of wall time; args: {' '.join(session.config.invocation_params.args)}"
    OUT.mkdir(exist_ok=True)
    rows = [head, "test\t" + "\t".join(PHASES) + "\ttotal\toutcome"]
    for nodeid in sorted(total, key=lambda n: -total[n]):
        phases = "\t".join(f"{_seconds[nodeid].get(p, 0.0):.2f}" for p in PHASES)
        rows.append(f"{nodeid}\t{phases}\t{total[nodeid]:.2f}\t{_outcome.get(nodeid, 'passed')}")
    whole = not session.config.invocation_params.args  # the whole suite, as `make test` runs it
    names = ["", "full-"] if whole else [""]
    for name in names:
        _write(OUT / f"{name}durations.tsv", rows)
    by_file: dict[str, list[float]] = defaultdict(list)
    for nodeid, seconds in total.items():
        by_file[nodeid.split("::")[0]].append(seconds)
    files = sorted(by_file, key=lambda f: -sum(by_file[f]))
    for name in names:
        _write(
            OUT / f"{name}durations-by-file.tsv",
            [head, "file\ttests\tseconds"] + [f"{f}\t{len(by_file[f])}\t{sum(by_file[f]):.1f}" for f in files],
        )


def pytest_terminal_summary(terminalreporter) -> None:
    if _controller() and _seconds:
        terminalreporter.write_line(
            f"every test's duration: {OUT.name}/durations.tsv, by file: {OUT.name}/durations-by-file.tsv"
        )
