"""Pushing to and pulling from remotes that cannot work (`make push`, `make pull`): one line each,
naming the remote, the reason and the fix (issue 15)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import sh, tool_env
from tests.helpers.stages import error_line

ROOT = Path(__file__).resolve().parents[1]
ENV = tool_env() | {"PYTHONPATH": str(ROOT)}
DVC = str(Path(sys.executable).with_name("dvc"))


def tracked_repo(path: Path, url: str) -> Path:
    path.mkdir()
    sh(["git", "init", "-q"], path)
    sh([DVC, "init", "-q"], path)
    for i in range(3):
        (path / f"f{i}.txt").write_text(f"{i}\n")
    sh([DVC, "add", "-q", "f0.txt", "f1.txt", "f2.txt"], path)
    sh([DVC, "remote", "add", "-d", "store", url], path)
    return path


def remote(repo: Path, command: str) -> subprocess.CompletedProcess:
    return sh([sys.executable, "-m", "pipeline.run.remote", command], repo, check=False, env=ENV)


def test_push_to_a_remote_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "file.txt").write_text("a file where the remote's folder should be\n")  # fails for root too
    url = str(tmp_path / "file.txt" / "remote")
    repo = tracked_repo(tmp_path / "repo", url)
    proc = remote(repo, "push")
    assert proc.returncode == 1
    assert error_line(proc.stderr, alone=True) == (
        f"error: dvc push failed with remote 'store' ({url}): not a directory (a file "
        "is in the way); point the remote at a folder: `dvc remote modify store url "
        "<folder>` (DVC's output: .dvc/tmp/push.log)"
    )
    assert "Not a directory" in (repo / ".dvc/tmp/push.log").read_text()


def test_the_hint_edits_the_config_level_the_url_came_from(tmp_path):
    """docs/team.md sets a clone's remote with `--local`: the hint must say `--local` too, or the URL
    it writes to .dvc/config stays overridden by .dvc/config.local and the next push fails the same."""
    (tmp_path / "file.txt").write_text("in the way\n")
    repo = tracked_repo(tmp_path / "repo", str(tmp_path / "good"))
    sh([DVC, "remote", "modify", "--local", "store", "url", str(tmp_path / "file.txt" / "remote")], repo)
    line = error_line(remote(repo, "push").stderr, alone=True)
    hint = "point the remote at a folder: `dvc remote modify --local store url <folder>`"
    assert hint in line, line
    fix = hint.split("`")[1].replace("<folder>", str(tmp_path / "elsewhere"))
    subprocess.run(fix, shell=True, cwd=repo, env=tool_env(), check=True)  # exactly what it says
    assert remote(repo, "push").returncode == 0 and (tmp_path / "elsewhere").is_dir()


def test_push_and_pull_with_an_unreachable_server_are_one_line(tmp_path):
    repo = tracked_repo(tmp_path / "repo", "http://127.0.0.1:1/store")
    push = remote(repo, "push")
    assert push.returncode == 1
    assert error_line(push.stderr, alone=True).startswith(
        "error: dvc push failed for 3 files with remote 'store' "
        "(http://127.0.0.1:1/store): connection refused; check the remote's URL"
    )
    for i in range(3):  # a fresh clone: nothing in the cache or the workspace
        (repo / f"f{i}.txt").unlink()
    sh(["rm", "-rf", ".dvc/cache"], repo)
    pull = remote(repo, "pull")
    assert pull.returncode == 1
    assert error_line(pull.stderr, alone=True).startswith(
        "error: dvc pull failed for 3 files with remote 'store' (http://127.0.0.1:1/store): connection refused"
    )
    assert (repo / ".dvc/tmp/pull.log").exists()


def test_no_remote_is_one_line_and_exit_2(tmp_path):
    repo = tracked_repo(tmp_path / "repo", "/unused")
    sh([DVC, "remote", "remove", "store"], repo)
    proc = remote(repo, "push")
    assert proc.returncode == 2
    assert "no DVC remote is the default (remotes: none): add one with `dvc remote add -d" in error_line(
        proc.stderr, alone=True
    )


def test_push_to_a_good_remote_says_what_it_pushed(tmp_path):
    repo = tracked_repo(tmp_path / "repo", str(tmp_path / "store"))
    proc = remote(repo, "push")
    assert proc.returncode == 0, proc.stderr
    assert f"3 files pushed (remote 'store', {tmp_path / 'store'})" in proc.stdout


def test_make_repro_pull_stops_at_a_failed_pull_with_its_one_line(tmp_path):
    """`make repro PULL=1` pulls first: when that fails, its one line and exit status, and no stage starts."""
    repo = tracked_repo(tmp_path / "repo", "http://127.0.0.1:1/store")
    (repo / "dvc.yaml").write_text(
        "stages:\n  copy:\n    cmd: cp f0.txt out.txt\n    deps: [f0.txt]\n    outs: [out.txt]\n"
    )
    for i in range(3):  # a fresh clone: nothing in the cache or the workspace
        (repo / f"f{i}.txt").unlink()
    sh(["rm", "-rf", ".dvc/cache"], repo)
    proc = sh([sys.executable, "-m", "pipeline.run.parallel", "--pull"], repo, check=False, env=ENV)
    assert proc.returncode == 1
    assert error_line(proc.stderr, alone=True).startswith(
        "error: dvc pull failed for 3 files with remote 'store' (http://127.0.0.1:1/store): connection refused"
    )
    assert not (repo / "out.txt").exists() and not (repo / "dvc.lock").exists()
