"""The parallel scheduler (`make repro`): the graph read from DVC, the plan, the order it starts
stages in, failures; and the real `dvc` CLI running two stages of a small pipeline at once."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil  # installed with dvc
import pytest
import yaml

from pipeline.core.errors import SchedulerError
from pipeline.run import dvc as adapter
from pipeline.run import parallel
from pipeline.run.progress import RAN, statuses
from tests.conftest import commit_dvc_repo, sh, tool_env

DOT = """strict digraph {
"download@a";
"normalize@a";
"train@m";
"train@n";
"report";
"download@a" -> "normalize@a";
"normalize@a" -> "train@m";
"normalize@a" -> "train@n";
"train@m" -> "report";
"train@n" -> "report";
}
"""


def test_parse_dot_reads_every_stage_and_edge():
    up = adapter.parse_dot(DOT)
    assert up == {
        "download@a": set(),
        "normalize@a": {"download@a"},
        "train@m": {"normalize@a"},
        "train@n": {"normalize@a"},
        "report": {"train@m", "train@n"},
    }


def test_plan_is_the_changed_stages_and_everything_downstream():
    up = adapter.parse_dot(DOT)
    assert parallel.downstream_closure(up, {"train@m"}) == {"train@m", "report"}
    assert parallel.downstream_closure(up, {"normalize@a"}) == {"normalize@a", "train@m", "train@n", "report"}
    assert parallel.downstream_closure(up, set()) == set()
    # `dvc status` also names .dvc files and imports that are not in the graph: ignored, not a crash
    assert parallel.downstream_closure(up, {"data.dvc"}) == set()


def test_critical_path_puts_the_longest_chain_first():
    up = adapter.parse_dot(DOT)
    plan = set(up)
    cp = parallel.critical_path(up, plan, {"train@m": 100.0, "train@n": 5.0, "report": 2.0})
    assert cp["train@m"] == 102.0 and cp["train@n"] == 7.0
    assert cp["download@a"] == 1.0 + 1.0 + 102.0  # unknown stages count 1 s


class FakeStage:
    """A real child process that sleeps; records when each stage started and ended."""

    def __init__(self, seconds: dict[str, float], fail: set[str] = frozenset()) -> None:
        self.seconds, self.fail = seconds, fail
        self.started: dict[str, float] = {}
        self.procs: dict[str, subprocess.Popen] = {}

    def __call__(self, name: str) -> subprocess.Popen:
        self.started[name] = time.perf_counter()
        code = 3 if name in self.fail else 0
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-c", f"import time, sys; time.sleep({self.seconds.get(name, 0.05)}); sys.exit({code})"],
            start_new_session=True,
        )
        return self.procs[name]


def test_schedule_respects_the_graph_and_the_job_limit():
    up = adapter.parse_dot(DOT)
    fake = FakeStage({"train@m": 0.6, "train@n": 0.6})
    out = parallel.schedule(up, set(up), fake, jobs=2, priority={}, poll=0.01)
    assert set(out.finished) == set(up) and not out.failed and not out.not_run
    # each stage started after its upstream stages ended
    for name, parents in up.items():
        for parent in parents:
            assert fake.started[name] >= fake.started[parent] + out.finished[parent] - 0.05, (parent, name)
    # the two trainings ran side by side: the second started before the first ended
    first, second = sorted(("train@m", "train@n"), key=fake.started.get)
    assert fake.started[second] < fake.started[first] + out.finished[first]


def test_schedule_with_one_job_runs_one_at_a_time_longest_chain_first():
    up = adapter.parse_dot(DOT)
    fake = FakeStage({})
    prio = {"train@n": 50.0, "train@m": 10.0}
    out = parallel.schedule(up, set(up), fake, jobs=1, priority=prio, poll=0.01)
    order = sorted(fake.started, key=fake.started.get)
    assert order.index("train@n") < order.index("train@m")
    for earlier, later in zip(order, order[1:]):  # never two at once
        assert fake.started[later] >= fake.started[earlier] + out.finished[earlier] - 0.02, (earlier, later)


def test_a_failure_starts_nothing_new_lets_running_stages_finish_and_names_what_did_not_run():
    up = adapter.parse_dot(DOT)
    fake = FakeStage({"train@m": 0.05, "train@n": 0.8}, fail={"train@m"})
    out = parallel.schedule(up, set(up), fake, jobs=2, priority={}, poll=0.01)
    assert out.failed == {"train@m": 3}
    assert "train@n" in out.finished  # it was running: it finished, it was not killed
    assert out.not_run == {"report"}
    assert "report" not in fake.started


def test_a_cycle_is_an_error_not_a_hang():
    with pytest.raises(SchedulerError, match="wait on each other"):
        parallel.schedule({"a": {"b"}, "b": {"a"}}, {"a", "b"}, FakeStage({}), jobs=2, priority={}, poll=0.01)


# --- the real dvc CLI ------------------------------------------------------------------------

# A stage that sleeps; with a file meet-<name> naming another stage, it also waits (up to 120 s) until
# that one has started, so two stages that run at once overlap however slow the machine is.
STAGE = """import sys, time, pathlib
name, seconds, out = sys.argv[1], float(sys.argv[2]), pathlib.Path(sys.argv[3])
start = time.time()
pathlib.Path("started-" + name).write_text("")
if pathlib.Path("fail-" + name).exists():
    sys.exit("asked to fail")
time.sleep(seconds)
meet = pathlib.Path("meet-" + name)
while meet.exists() and not pathlib.Path("started-" + meet.read_text()).exists() and time.time() < start + 120:
    time.sleep(0.05)
for dep in sys.argv[4:]:
    pathlib.Path(dep).read_text()
out.write_text(f"{name} {start} {time.time()}\\n")
"""


def small_dvc_repo(path: Path) -> Path:
    """a and b read in.txt and take a second each; c reads both."""
    path.mkdir()
    (path / "stage.py").write_text(STAGE)
    (path / "in.txt").write_text("input\n")
    (path / "params.yaml").write_text("b: {x: 1}\n")
    stages = {
        "a": {"cmd": "python stage.py a 1 a.txt in.txt", "deps": ["stage.py", "in.txt"], "outs": ["a.txt"]},
        "b": {
            "cmd": "python stage.py b 1 b.txt in.txt",
            "deps": ["stage.py", "in.txt"],
            "params": ["b.x"],
            "outs": ["b.txt"],
        },
        "c": {
            "cmd": "python stage.py c 0 c.txt a.txt b.txt",
            "deps": ["stage.py", "a.txt", "b.txt"],
            "outs": ["c.txt"],
        },
    }
    (path / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    return commit_dvc_repo(path)


def run_parallel(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return sh(
        [sys.executable, "-m", "pipeline.run.parallel", *args],
        repo,
        check=False,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


def span(repo: Path, name: str) -> tuple[float, float]:
    _, start, end = (repo / f"{name}.txt").read_text().split()
    return float(start), float(end)


def status(repo: Path) -> dict:
    return json.loads(sh([str(Path(sys.executable).with_name("dvc")), "status", "--json"], repo).stdout or "{}")


def locked(repo: Path) -> set[str]:
    path = repo / "dvc.lock"
    return set(yaml.safe_load(path.read_text())["stages"]) if path.exists() else set()


@pytest.mark.slow
def test_real_dvc_runs_independent_stages_at_once_and_records_them(tmp_path):
    repo = small_dvc_repo(tmp_path / "repo")
    (repo / "meet-a").write_text("b")  # one at a time, a would wait 120 s for b and end before b began
    (repo / "meet-b").write_text("a")
    proc = run_parallel(repo, "--jobs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (a0, a1), (b0, b1), (c0, _) = span(repo, "a"), span(repo, "b"), span(repo, "c")
    assert a0 < b1 and b0 < a1, "a and b should overlap"
    assert c0 >= max(a1, b1), "c reads a and b: it must start after both ended"
    assert status(repo) == {} and locked(repo) == {"a", "b", "c"}
    assert statuses(proc.stdout) == {"a": RAN, "b": RAN, "c": RAN}
    # Nothing changed: nothing runs, exactly as `dvc repro` says
    again = run_parallel(repo, "--jobs", "2")
    assert again.returncode == 0 and again.stdout == "Data and pipelines are up to date.\n"
    # A param of b changed: b and c run, a does not
    (repo / "params.yaml").write_text("b: {x: 2}\n")
    third = run_parallel(repo)
    assert third.returncode == 0, third.stdout + third.stderr
    assert statuses(third.stdout) == {"b": RAN, "c": RAN}
    assert status(repo) == {}


@pytest.mark.slow
def test_real_dvc_failure_exits_non_zero_records_the_rest_and_skips_downstream(tmp_path):
    repo = small_dvc_repo(tmp_path / "repo")
    (repo / "fail-b").write_text("")
    proc = run_parallel(repo, "--jobs", "2")
    assert proc.returncode == 1
    assert "error: stage failed: b (exit 1)" in proc.stderr and "not run: c" in proc.stderr
    assert "asked to fail" in proc.stderr  # the stage's own message reached the user, with where the rest is
    assert "b's last 4 lines (its whole output is in logs/b.log):" in proc.stderr
    assert locked(repo) == {"a"}  # a finished and is recorded; b is not, and nothing is half-written
    assert not (repo / "b.txt").exists() and not (repo / "c.txt").exists()
    (repo / "fail-b").unlink()
    fixed = run_parallel(repo, "--jobs", "2")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert statuses(fixed.stdout) == {"b": RAN, "c": RAN}  # a is not trained again
    assert status(repo) == {} and locked(repo) == {"a", "b", "c"}


@pytest.mark.slow
def test_an_interrupt_stops_the_running_stages_and_records_nothing_half_done(tmp_path):
    repo = small_dvc_repo(tmp_path / "repo")
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())
    stages["stages"]["a"]["cmd"] = "python stage.py a 60 a.txt in.txt"  # long enough to be interrupted
    (repo / "dvc.yaml").write_text(yaml.safe_dump(stages))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.run.parallel", "--jobs", "2"],
        cwd=repo,
        env=tool_env() | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: SIGINT at its default even if this test process
        # inherited it ignored (a child then ignores it too, and Python keeps that)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    log = repo / "logs" / "a.log"
    while "Running stage 'a'" not in (log.read_text() if log.exists() else ""):  # DVC started a's command
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    time.sleep(1.0)
    before = {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
    assert before, "the stages run as children of the scheduler"
    proc.send_signal(signal.SIGINT)  # as `kill -INT`: only the scheduler gets it, and passes it on
    assert proc.wait(timeout=30) == 130
    err = proc.stderr.read()
    assert err.startswith("interrupted: the running stages were stopped") and "Traceback" not in err
    assert not [pid for pid in before if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert "a" not in locked(repo) and not (repo / "a.txt").exists()
    assert not (repo / "c.txt").exists()


def test_outside_a_dvc_repository_it_says_so_and_exits_2(tmp_path):
    proc = run_parallel(tmp_path)
    assert proc.returncode == 2
    assert "`dvc status --json` failed" in proc.stderr and "not inside of a DVC repository" in proc.stderr


def test_dvc_beside_the_interpreter_else_on_path_else_a_clear_error(tmp_path, monkeypatch):
    venv_dvc = Path(sys.executable).with_name("dvc")
    assert adapter.Dvc(tmp_path).exe == str(venv_dvc)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # a folder without dvc (bench/offline_gpu.sh)
    monkeypatch.setenv("PATH", str(venv_dvc.parent))
    assert adapter.Dvc(tmp_path).exe == str(venv_dvc)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SchedulerError, match="no `dvc` beside .* or on PATH: run `make setup`"):
        adapter.Dvc(tmp_path)


def test_bad_jobs_is_refused():
    with pytest.raises(SystemExit) as exc:
        parallel.main(["--jobs", "0"])
    assert exc.value.code == 2


def test_relay_writes_every_line_to_the_log_and_keeps_the_last_redraw_of_a_progress_bar(tmp_path):
    seen = []
    dvc = adapter.Dvc(Path("."), lambda name, text: seen.append((name, text)))
    (tmp_path / "s.log").write_text("the last run's output\n")
    dvc._relay("s", io.BytesIO(b"start\n 10%|#   \r 50%|##  \r100%|####\n\ndone \xff\r\n"), tmp_path / "s.log")
    assert (tmp_path / "s.log").read_text() == "start\n100%|####\n\ndone \ufffd\n"
    assert seen == [("s", "start"), ("s", "100%|####"), ("s", "done \ufffd")]
