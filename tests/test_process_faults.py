"""Faults of the process, for real (issue 15): a full disk, no memory and signals in a stage (one line,
no traceback, nothing half-written); a stage killed by SIGKILL under the scheduler (named, and its
outputs back to the last good run); `kill -9` of the scheduler (no orphan, the next run works); two
schedulers at once. (Remotes that cannot work: tests/test_remote_faults.py.)"""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil  # installed with dvc
import pytest
import yaml

from pipeline.core import cli
from pipeline.run import parallel
from tests.conftest import sh, tool_env
from tests.helpers.stages import error_line

ROOT = Path(__file__).resolve().parents[1]
ENV = tool_env() | {"PYTHONPATH": str(ROOT)}
DVC = str(Path(sys.executable).with_name("dvc"))

# A stage script as the project writes them (cli.run around main), doing what argv[1] says.
STAGE = """import os, pathlib, sys, time
from pipeline.core import cli
from pipeline.core.io import atomic_open, save_torch

def main():
    what, out = sys.argv[1], pathlib.Path(sys.argv[2])
    if what == "big":  # about 4 MB through torch.save, as a checkpoint is written
        import torch
        save_torch({"w": torch.zeros(1_000_000)}, out)
    elif what == "alloc":
        import torch
        torch.empty(10**13)
    elif what == "wait":
        print("ready", flush=True)
        with atomic_open(out) as fh:
            fh.write("half")
            time.sleep(60)

cli.run(main)
"""


def toy_stage(tmp_path: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    (tmp_path / "toy_stage.py").write_text(STAGE)
    return subprocess.run(
        [sys.executable, str(tmp_path / "toy_stage.py"), *args],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
        **kw,
    )


# --- a stage: disk full, no memory, signals ----------------------------------------------------


def test_a_file_size_limit_is_one_line_and_the_old_output_stays(tmp_path):
    out = tmp_path / "model.pt"
    out.write_bytes(b"the last good checkpoint")
    proc = toy_stage(
        tmp_path,
        "big",
        str(out),  # `ulimit -f 1000` (Python ignores SIGXFSZ: EFBIG)
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000)),
    )
    assert proc.returncode == 1
    line = error_line(proc.stderr, alone=True)
    assert "a file is over the size limit: raise `ulimit -f`" in line and "File too large" in line
    assert out.read_bytes() == b"the last good checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt", "toy_stage.py"]  # no .tmp left


def test_a_full_disk_is_one_line_and_nothing_is_half_written(tmp_path):
    """ENOSPC for real: the atomic write's temporary file leads to /dev/full."""
    out = tmp_path / "model.pt"
    (tmp_path / "model.pt.tmp").symlink_to("/dev/full")
    proc = toy_stage(tmp_path, "big", str(out))
    assert proc.returncode == 1
    line = error_line(proc.stderr, alone=True)
    assert "the disk is full: free space, then run again" in line and "No space left on device" in line
    assert not out.exists() and not (tmp_path / "model.pt.tmp").exists()


# A stage that declares two outputs, writes one, then fails (argv[1]: how).
HALF_DONE = """import sys, time
from pipeline.core import cli
from pipeline.core.errors import DataError
from pipeline.core.io import write_json

def main():
    args, _ = cli.arguments(None, None, ("how", "error or wait"), ("written", "output: written, then it fails"),
                            ("untouched", "output: never written"))
    write_json(args.written, {"epoch": 1})
    if args.how == "wait":
        print("ready", flush=True)
        time.sleep(60)
    raise DataError("the second input is bad: fix it")

cli.run(main)
"""


@pytest.mark.parametrize("how", ["error", "SIGTERM"])
def test_a_failed_stage_removes_what_it_wrote_and_nothing_else(tmp_path, how):
    """A failure after an output was written (a checkpoint at epoch 1, then an error or a signal):
    that output goes; one this run never touched stays (run by hand, it is the last good one)."""
    (tmp_path / "stage.py").write_text(HALF_DONE)
    (tmp_path / "params.yaml").write_text("{}\n")
    (tmp_path / "untouched.json").write_text("the last good run")
    (tmp_path / "written.json").write_text("the last good run")
    args = [sys.executable, "stage.py", "--how", "wait" if how == "SIGTERM" else how]
    args += ["--written", "written.json", "--untouched", "untouched.json"]
    proc = subprocess.Popen(args, cwd=tmp_path, env=ENV, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if how == "SIGTERM":
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == (2 if how == "error" else 128 + signal.SIGTERM)
    expected = "the second input is bad" if how == "error" else "stopped by SIGTERM"
    assert expected in error_line(stderr, alone=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml", "stage.py", "untouched.json"]
    assert (tmp_path / "untouched.json").read_text() == "the last good run"


def test_out_of_memory_is_one_line(tmp_path):
    proc = toy_stage(tmp_path, "alloc", "unused")
    assert proc.returncode == 1
    assert "out of memory: lower batch_size" in error_line(proc.stderr, alone=True)


def test_fault_finds_the_cause_in_what_an_error_wraps():
    try:
        try:
            raise OSError(28, "No space left on device")
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 136192 vs 136144")
    except RuntimeError as err:
        assert cli.verdict(err)[1] == 1 and "the disk is full" in cli.verdict(err)[0]
    assert "out of memory" in cli.verdict(MemoryError())[0]
    assert cli.verdict(cli.PipelineError("bad key")) == ("bad key", 2)
    assert cli.verdict(ValueError("a bug")) is None and cli.verdict(OSError(2, "No such file")) is None


def as_in_a_terminal() -> None:
    """What a terminal gives a command: the default SIGINT and no blocked signal. A CI runner may start
    the tests with SIGINT ignored (a background job) or blocked (CI did: the signal never arrived)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_is_one_line_and_the_write_in_progress_is_dropped(tmp_path, sig):
    (tmp_path / "toy_stage.py").write_text(STAGE)
    proc = subprocess.Popen(
        [sys.executable, "toy_stage.py", "wait", "out.txt"],
        cwd=tmp_path,
        env=ENV,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=as_in_a_terminal,
    )
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:  # say why: the signal masks the stage runs with, and what it printed
        masks = [line for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines() if line.startswith("Sig")]
        proc.kill()
        pytest.fail(f"{sig.name} did not stop the stage: {masks}; stderr: {proc.communicate()[1]!r}")
    assert proc.returncode == 128 + sig
    assert f"stopped by {sig.name}: the stage's outputs are not recorded" in error_line(proc.stderr.read(), alone=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy_stage.py"]


def test_a_stage_dies_with_its_parent(tmp_path):
    """As when DVC dies: the stage gets SIGTERM, says so, and leaves no orphan."""
    (tmp_path / "toy_stage.py").write_text(STAGE)
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; "
            "p = subprocess.Popen([sys.executable, 'toy_stage.py', 'wait', 'out.txt']); "
            "print(p.pid, flush=True); time.sleep(60)",
        ],
        cwd=tmp_path,
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    child = psutil.Process(int(parent.stdout.readline()))
    time.sleep(1.5)  # past the stage's start
    parent.kill()
    parent.wait()
    assert gone([child.pid], 10), "the stage ran on after its parent died"
    assert not (tmp_path / "out.txt").exists() and not (tmp_path / "out.txt.tmp").exists()


def gone(pids: list[int], seconds: float, zombies: bool = True) -> bool:
    """Whether every process in `pids` ended (a zombie counts as ended, unless not `zombies`) in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = [p for p in pids if psutil.pid_exists(p) and not (zombies and zombie(p))]
        if not alive:
            return True
        time.sleep(0.1)
    return False


def alive(pids: list[int]) -> list[str]:
    """What each process of `pids` that still runs is (for a failure's message)."""
    found = []
    for pid in pids:
        try:
            found.append(" ".join(psutil.Process(pid).cmdline()))
        except psutil.NoSuchProcess:
            pass
    return found


def zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


# --- the scheduler ---------------------------------------------------------------------------


def test_exit_statuses_in_words():
    assert parallel.describe(-9).startswith("killed (SIGKILL): often the kernel's out-of-memory killer (see `dmesg`)")
    assert parallel.describe(137) == parallel.describe(-9)  # 128 + 9, from a shell
    assert parallel.describe(143) == "stopped by SIGTERM" and parallel.describe(-2) == "stopped by SIGINT"
    assert parallel.describe(1) == "exit 1" and parallel.describe(255) == "exit 255"


TRAIN = """import json, os, pathlib, signal, sys
run = pathlib.Path("run.txt").read_text().strip()
pathlib.Path("model.bin").write_text(f"model of {run}, epoch 1 of 2\\n")  # half-trained
if pathlib.Path("kill-me").exists():
    os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer does
pathlib.Path("model.bin").write_text(f"model of {run}\\n")
pathlib.Path("metrics.json").write_text(json.dumps({"run": run}) + "\\n")
"""


def dvc_project(path: Path, cmd: str = "python train.py") -> Path:
    """One stage: a cached model and git-tracked metrics (cache: false)."""
    path.mkdir()
    (path / "train.py").write_text(TRAIN)
    (path / "run.txt").write_text("run 1\n")
    stage = {
        "cmd": cmd,
        "deps": ["train.py", "run.txt"],
        "outs": ["model.bin"],
        "metrics": [{"metrics.json": {"cache": False}}],
    }
    (path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"train": stage}}))
    sh(["git", "init", "-q"], path)
    sh([DVC, "init", "-q"], path)
    sh(["git", "add", "-A"], path)
    sh(["git", "commit", "-qm", "pipeline"], path)
    return path


def scheduler(repo: Path) -> subprocess.CompletedProcess:
    return sh([sys.executable, "-m", "pipeline.run.parallel", "--jobs", "1"], repo, check=False, env=ENV)


@pytest.mark.slow
def test_a_killed_stage_is_named_and_its_outputs_go_back_to_the_last_good_run(tmp_path):
    repo = dvc_project(tmp_path / "repo")
    assert scheduler(repo).returncode == 0
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-qm", "run 1"], repo)  # metrics.json and dvc.lock in git, as the project keeps them
    good = {name: (repo / name).read_bytes() for name in ("model.bin", "metrics.json", "dvc.lock")}
    (repo / "run.txt").write_text("run 2\n")
    (repo / "kill-me").write_text("")
    proc = scheduler(repo)
    assert proc.returncode == 1
    assert "error: stage failed: train (killed (SIGKILL): often the kernel's out-of-memory killer" in proc.stderr
    assert (
        "restored train's outputs to its last good run, as dvc.lock records them (model.bin, metrics.json)"
        in proc.stdout
    )
    assert {name: (repo / name).read_bytes() for name in good} == good  # nothing half-trained, nothing lost
    (repo / "kill-me").unlink()
    assert scheduler(repo).returncode == 0 and (repo / "model.bin").read_text() == "model of run 2\n"


@pytest.mark.slow
def test_a_killed_stage_without_a_good_run_leaves_no_partial_output(tmp_path):
    repo = dvc_project(tmp_path / "repo")
    (repo / "kill-me").write_text("")
    proc = scheduler(repo)
    assert proc.returncode == 1 and "killed (SIGKILL)" in proc.stderr
    assert "train has no good run in dvc.lock yet: removed its partial outputs" in proc.stdout
    assert not (repo / "model.bin").exists() and not (repo / "metrics.json").exists()


SLOW = """import pathlib, sys, time
from pipeline.core import cli

def main():
    time.sleep(float(sys.argv[1]))
    pathlib.Path("model.bin").write_text("done\\n")
    pathlib.Path("metrics.json").write_text("{}\\n")

cli.run(main)
"""


@pytest.mark.slow
@pytest.mark.parametrize("shell", ["/bin/bash", "/bin/sh"])
def test_kill_9_of_the_scheduler_leaves_no_orphan_and_a_second_scheduler_is_refused(tmp_path, shell):
    """DVC runs a stage's command with `$SHELL -c`: bash execs it, so the stage is DVC's child; Debian's
    /bin/sh (dash) does not, so a shell stands between DVC and the stage and outlives DVC."""
    repo = dvc_project(tmp_path / "repo", cmd="python slow.py 60")
    (repo / "slow.py").write_text(SLOW)
    first = subprocess.Popen(
        [sys.executable, "-m", "pipeline.run.parallel", "--jobs", "1"],
        cwd=repo,
        env=ENV | {"SHELL": shell},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in first.stdout:
        if line.split() == ["train", "started"]:  # the scheduler started it (DVC's words go to logs/train.log)
            break
    deadline = time.monotonic() + 30
    while not any(p.cmdline()[:2] == ["python", "slow.py"] for p in psutil.Process(first.pid).children(recursive=True)):
        assert time.monotonic() < deadline, "the stage did not start"
        time.sleep(0.1)
    stages = [p.pid for p in psutil.Process(first.pid).children(recursive=True)]
    assert len(stages) == (2 if shell == "/bin/bash" else 3), [p.cmdline() for p in map(psutil.Process, stages)]
    # two at once: the second stops at once, with one line
    second = scheduler(repo)
    assert second.returncode == 2
    assert error_line(second.stderr, alone=True) == (
        f"error: another make repro is running in this folder (pid {first.pid}); wait for it or stop it"
    )
    first.kill()  # kill -9
    first.wait()
    assert gone(stages, 10), f"stages ran on after the scheduler was killed: {alive(stages)}"
    # DVC counts a zombie as alive; this machine's init reaps orphans every few seconds
    assert gone(stages, 15, zombies=False), "nothing reaped the dead stages"
    # the next run is not blocked ("... is busy") and records the stage
    (repo / "dvc.yaml").write_text((repo / "dvc.yaml").read_text().replace("slow.py 60", "slow.py 0"))
    again = scheduler(repo)
    assert again.returncode == 0 and "is busy" not in again.stdout + again.stderr, again.stdout + again.stderr
    assert (repo / "model.bin").read_text() == "done\n"
