"""What `make repro` shows (pipeline.run.progress): each stage's output in its log, one start and one end
line per stage with what DVC did, live progress on a terminal only, the table and where to look
next, a failed stage's last lines; with the real `dvc` CLI on a tiny project."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.core.cli import EPOCH_LINE, STEP_LINE
from pipeline.run.progress import FAILED, RAN, RESTORED, TAIL, UP_TO_DATE, Display, statuses
from tests.conftest import commit_dvc_repo, sh, tool_env

ROOT = Path(__file__).resolve().parents[1]

# A training stage as pipeline.training.engine.loop.fit logs it: one line per epoch; its output depends on n // 10 only,
# so that another n can leave what reads it up to date.
TRAIN = f"""import logging, pathlib, sys, time
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
n = int(pathlib.Path("params.yaml").read_text().split()[-1])
print("the stage's own line")
for epoch in range(1, n + 1):
    time.sleep(float(sys.argv[1]))
    logging.getLogger("pipeline.training.engine.loop").info({EPOCH_LINE!r}, epoch, n, 1 / epoch, 0.5, 2 / epoch, 0.5, "")
pathlib.Path("count.txt").write_text(f"{{n // 10}}\\n")
"""


def tiny_project(path: Path, seconds_per_epoch: float = 0.0) -> Path:
    """train (params n, logs n epochs) -> use (reads what train wrote)."""
    path.mkdir()
    (path / "train.py").write_text(TRAIN)
    (path / "params.yaml").write_text("n: 2\n")
    stages = {
        "train": {
            "cmd": f"python train.py {seconds_per_epoch}",
            "deps": ["train.py"],
            "params": ["n"],
            "outs": ["count.txt"],
        },
        "use": {"cmd": "cp count.txt use.txt", "deps": ["count.txt"], "outs": ["use.txt"]},
    }
    (path / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    return commit_dvc_repo(path)


def scheduler(repo: Path) -> subprocess.CompletedProcess:
    return sh(
        [sys.executable, "-m", "pipeline.run.parallel", "--jobs", "2"], repo, check=False, env={"PYTHONPATH": str(ROOT)}
    )


def lines_about(text: str, name: str) -> list[str]:
    return [line for line in text.splitlines() if line.split()[:1] == [name]]


@pytest.mark.slow
def test_in_a_pipe_each_stage_is_one_start_and_one_end_line_with_what_dvc_did(tmp_path):
    repo = tiny_project(tmp_path / "repo")
    first = scheduler(repo)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "\r" not in first.stdout and "epoch" not in first.stdout and "dvc push" not in first.stdout
    assert statuses(first.stdout) == {"train": RAN, "use": RAN}
    for name in ("train", "use"):
        start, end = lines_about(first.stdout.split("\nstage ")[0], name)
        assert start.split() == [name, "started"] and end.split()[1:] == ["ran,", end.split()[2], "s"]
    # the full output, DVC's and the stage's, is in the stage's log
    log = (repo / "logs" / "train.log").read_text()
    assert "Running stage 'train':" in log and "the stage's own line" in log
    assert "epoch   2/2  train loss 0.5000" in log and "Use `dvc push`" in log
    # the table, the totals, where to look next (the report once its stage has written it)
    table = first.stdout[first.stdout.index("\nstage ") :]
    assert sorted(line.split()[:2] for line in table.splitlines()[2:4]) == [["train", "ran"], ["use", "ran"]]
    assert "2 stages checked in" in table and ": 2 ran" in table
    assert "dvc metrics show" in table and "dvc plots show" in table
    assert re.search(r"^  logs/ +each stage's full output, e\.g\. logs/(train|use)\.log$", table, re.M)
    assert "reports/index.html" not in table

    (repo / "params.yaml").write_text("n: 3\n")  # train runs again and writes the same bytes
    (repo / "reports").mkdir()
    (repo / "reports" / "index.html").write_text("<html></html>\n")
    second = scheduler(repo)
    assert statuses(second.stdout) == {"train": RAN, "use": UP_TO_DATE}, second.stdout + second.stderr
    assert "epoch   3/3" in (repo / "logs" / "train.log").read_text()  # this run's log, not the last one's
    assert re.search(r"^\(the other 1\) +up to date +[\d.]+$", second.stdout, re.M)  # the table groups them
    assert "reports/index.html" in second.stdout

    (repo / "params.yaml").write_text("n: 2\n")  # a run DVC has seen: from the run-cache
    third = scheduler(repo)
    assert statuses(third.stdout) == {"train": RESTORED, "use": UP_TO_DATE}, third.stdout + third.stderr
    assert "1 restored from the run-cache, 1 up to date" in third.stdout
    assert "is cached - skipping run" in (repo / "logs" / "train.log").read_text()


@pytest.mark.slow
def test_on_a_terminal_each_running_stage_has_a_live_progress_line(tmp_path):
    repo = tiny_project(tmp_path / "repo", seconds_per_epoch=0.5)
    (repo / "params.yaml").write_text("n: 4\n")
    main, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.run.parallel", "--jobs", "2"],
        cwd=repo,
        env=tool_env() | {"PYTHONPATH": str(ROOT), "TERM": "xterm"},
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    screen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the other end closed (Linux)
            break
        if not chunk:
            break
        screen += chunk
    os.close(main)
    assert proc.wait(timeout=60) == 0, screen.decode(errors="replace")
    text = screen.decode()
    assert "\r" in text and "epoch 2/4" in text and "loss 0.5000  val 1.0000" in text
    assert statuses(text) == {"train": RAN, "use": RAN} and "train  started" in text


def test_the_end_line_is_the_status_dvc_gave_and_the_table_groups_the_stages_up_to_date(tmp_path):
    out = io.StringIO()
    shown = Display(tmp_path, out, live=False)
    shown.plan(["train@mlp", "a", "b", "c"], total=9, jobs=2)
    for name, said in (
        ("train@mlp", "Running stage 'train@mlp':"),
        ("a", "Stage 'a' didn't change, skipping"),
        ("b", "Stage 'b' is cached - skipping run, checking out outputs"),
        ("c", ""),
    ):
        shown.started(name)
        shown.seen(name, said)
        shown.seen(name, "INFO pipeline.training.engine.loop: " + EPOCH_LINE % (1, 3, 0.5, 0.9, 0.6, 0.8, ""))
    for name, seconds in (("a", 0.5), ("b", 1.0), ("train@mlp", 12.0)):
        shown.ended(name, seconds)
    shown.ended("c", 2.0, "exit 3")
    shown.summary(not_run=1, seconds=16.0, jobs=2)
    text = out.getvalue()
    assert text.splitlines()[0] == "4 of 9 stages to check, 2 at a time; each stage's output goes to logs/<stage>.log"
    assert text.splitlines()[1] == "train@mlp  started"
    assert "a          up to date, 0.5 s" in text and "b          restored from the run-cache, 1.0 s" in text
    assert "c          failed, 2.0 s (exit 3)" in text and "epoch" not in text and "\r" not in text
    assert statuses(text) == {"train@mlp": RAN, "a": UP_TO_DATE, "b": RESTORED, "c": FAILED}
    rows = text[text.index("\nstage ") :].splitlines()[1:]
    assert [row.split()[0] for row in rows[1:4]] == ["c", "train@mlp", "b"]  # failed first, then the longest
    assert rows[4].split() == ["(the", "other", "1)", "up", "to", "date", "0.5"]
    assert (
        rows[5] == "5 stages checked in 16 s, 2 at a time: 1 ran, 1 restored from the run-cache, 1 up to date, "
        "1 failed, 1 not run"
    )


def test_a_failure_shows_the_last_lines_of_the_stage_s_log_and_its_path(tmp_path):
    shown = Display(tmp_path, io.StringIO(), live=False)
    shown.plan(["train@cnn"], total=1, jobs=1)
    log = shown.started("train@cnn")
    log.write_text("".join(f"line {i}\n" for i in range(1, 41)))
    shown.ended("train@cnn", 3.0, "exit 1")
    err = io.StringIO()
    shown.failure({"train@cnn": "exit 1"}, ["evaluate@cnn"], err)
    lines = err.getvalue().splitlines()
    assert lines[0] == "error: stage failed: train@cnn (exit 1)"
    assert lines[1] == f"train@cnn's last {TAIL} lines (its whole output is in logs/train@cnn.log):"
    assert lines[2 : 2 + TAIL] == [f"  line {i}" for i in range(41 - TAIL, 41)]
    assert lines[-2:] == [
        "not run: evaluate@cnn",
        "Finished stages are recorded in dvc.lock; fix the cause and run again to go on from there.",
    ]


def test_the_live_line_follows_epochs_and_steps_and_a_restart(tmp_path):
    out = io.StringIO()
    shown = Display(tmp_path, out, live=True)
    shown.plan(["train@logreg", "style@style"], total=2, jobs=2)
    shown.started("train@logreg")
    for epoch in (1, 2, 3, 1):  # tabular models train again from another seed
        shown.seen(
            "train@logreg",
            "INFO pipeline.training.engine.loop: " + EPOCH_LINE % (epoch, 3, 1 / epoch, 0.9, 2 / epoch, 0.8, ""),
        )
    shown.started("style@style")
    shown.seen("style@style", "INFO pipeline.training.style: " + STEP_LINE % (100, 300, 1.25, 3.5, 4.75))
    screen = out.getvalue()
    assert "train@logreg  epoch 2/3" in screen and "loss 0.5000  val 1.0000" in screen
    assert screen.rindex("train@logreg  epoch 1/3") > screen.index("train@logreg  epoch 3/3")  # counted again
    assert "style@style   step 100/300" in screen and "loss 4.75" in screen
    shown.ended("train@logreg", 3.0)
    shown.ended("style@style", 3.0)
    shown.close()
    assert shown.stages["train@logreg"].bar is None and "train@logreg  ran, 3.0 s\n" in out.getvalue()
