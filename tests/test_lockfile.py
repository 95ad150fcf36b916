"""dvc.lock after switching a stage's params away and back: the same bytes as before (issue 16).
The real `dvc repro` writes the file; `pipeline.run.lockfile.tidy` (run by `make repro` after its
stages) drops what dvc.yaml no longer defines and restores dvc.yaml's order."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from pipeline.run import lockfile
from tests.conftest import sh

DVC = str(Path(sys.executable).with_name("dvc"))


def write_params(repo: Path, use: dict[str, int]) -> None:
    (repo / "params.yaml").write_text(yaml.safe_dump({"use": use}))


def repro(repo: Path) -> None:
    sh([DVC, "repro", "-q"], repo)


@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    write_params(repo, {"a": 1, "b": 2})
    stages = {
        "first": {"cmd": "echo first > first.txt", "outs": ["first.txt"]},
        "make": {
            "foreach": "${use}",
            "do": {"cmd": "echo ${item} > out_${key}.txt", "deps": ["first.txt"], "outs": ["out_${key}.txt"]},
        },
    }
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
    (repo / ".gitignore").write_text("/*.txt\n/logs/\n")  # outputs and logs ignored, as the project ignores them
    sh(["git", "init", "-q"], repo)
    sh([DVC, "init", "-q"], repo)
    repro(repo)
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-qm", "pipeline"], repo)
    return repo


@pytest.mark.slow
def test_switching_away_and_back_leaves_the_committed_lock_file(repo):
    committed = (repo / "dvc.lock").read_text()
    assert lockfile.tidy(repo) == [] and (repo / "dvc.lock").read_text() == committed  # nothing to do: untouched

    write_params(repo, {"a": 1, "c": 3})  # b leaves dvc.yaml, c comes
    repro(repo)
    assert "make@b" in yaml.safe_load((repo / "dvc.lock").read_text())["stages"]  # DVC keeps it
    assert lockfile.tidy(repo) == ["make@b"]
    assert list(yaml.safe_load((repo / "dvc.lock").read_text())["stages"]) == ["first", "make@a", "make@c"]

    write_params(repo, {"a": 1, "b": 2})  # and back: DVC appends make@b after make@c's stale entry
    repro(repo)
    assert list(yaml.safe_load((repo / "dvc.lock").read_text())["stages"])[-1] == "make@b"
    assert lockfile.tidy(repo) == ["make@c"]
    assert (repo / "dvc.lock").read_text() == committed
    assert sh(["git", "status", "--porcelain"], repo).stdout == ""
    assert sh([DVC, "status", "-q"], repo, check=False).returncode == 0  # DVC reads it as up to date


@pytest.mark.slow
def test_make_repro_tidies_the_lock_file_and_names_the_machine_only_when_it_differs(repo):
    committed = (repo / "dvc.lock").read_text()
    write_params(repo, {"a": 1, "c": 3})
    away = run_parallel(repo)
    assert away.returncode == 0 and "dropped the entries of stages dvc.yaml no longer defines: make@b" in away.stdout
    assert "make@b" not in (repo / "dvc.lock").read_text()
    record = (repo / lockfile.MACHINE).read_text()  # this machine wrote a dvc.lock git does not have
    assert f"torch: {metadata.version('torch')}" in record and "cpu: " in record and "kernels: " in record

    write_params(repo, {"a": 1, "b": 2})  # back: the committed bytes, and no record the commit lacks
    back = run_parallel(repo)
    assert back.returncode == 0, back.stdout + back.stderr
    assert (repo / "dvc.lock").read_text() == committed
    assert sh(["git", "status", "--porcelain"], repo).stdout == ""


@pytest.mark.slow
def test_make_repro_says_so_when_the_committed_lock_came_from_another_kind_of_cpu(repo):
    """The committed results came from another CPU: a changed dvc.lock gets one note saying why its
    bytes may differ and where the committed ones are. Not while dvc.lock is the committed one,
    and not once the commit names this machine."""
    (repo / lockfile.MACHINE).write_text("cpu: Another CPU 9000\nvendor: SomeVendor\narch: x86_64\n")
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-qm", "results from another machine"], repo)
    assert lockfile.other_machine(repo) is None  # dvc.lock is the committed one

    write_params(repo, {"a": 1, "c": 3})
    away = run_parallel(repo)
    assert away.returncode == 0, away.stdout + away.stderr
    notes = [line for line in away.stdout.splitlines() if "another kind of CPU" in line]
    assert len(notes) == 1 and away.stdout.rstrip().endswith(notes[0]), away.stdout  # one line, last of all
    assert notes[0].startswith("note: dvc.lock differs from the committed one")
    assert f"(Another CPU 9000, SomeVendor; this one: {lockfile._cpuinfo('model name')}," in notes[0]
    assert notes[0].endswith("restore them from your team's remote: `make repro PULL=1`")

    sh(["git", "add", lockfile.MACHINE], repo)  # what make repro wrote: this machine's record
    sh(["git", "commit", "-qm", "this machine"], repo)
    assert lockfile.other_machine(repo) is None  # dvc.lock still differs, but this CPU's own


def run_parallel(repo: Path) -> subprocess.CompletedProcess:
    return sh(
        [sys.executable, "-m", "pipeline.run.parallel"],
        repo,
        check=False,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )


def test_no_lock_file_is_nothing_to_do(tmp_path):
    assert lockfile.tidy(tmp_path, ["a"]) == []
    assert not (tmp_path / "dvc.lock").exists()
