"""The newcomer's path: the README's two commands exist, CI runs the same test command, and a
second set-up installs nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, make_project, tool_env
from tests.helpers.stages import error_line, one_error_line


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make repro" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci


def test_a_second_setup_has_nothing_to_do():
    # `make -q` exits 0 only if the target is up to date, i.e. nothing would be installed.
    assert subprocess.run(["make", "-q", "setup"], cwd=ROOT).returncode == 0


def test_setup_compiled_the_installed_packages():
    # Where PYTHONDONTWRITEBYTECODE is set, modules without a .pyc from set-up are compiled from
    # source in every process (about 1.5 s more per stage for torch alone): see the Makefile.
    import importlib.util

    import dvc
    import torch

    for module in (torch, dvc):
        cached = importlib.util.cache_from_source(module.__file__)
        assert Path(cached).is_file(), f"no bytecode for {module.__name__}: {cached}"


def foreign_python(tmp_path: Path) -> dict:
    """PATH on which `python` is an interpreter without the project's packages (the system's), as
    in a shell where .venv is not activated."""
    import shutil

    system = shutil.which("python3", path="/usr/bin:/bin") or pytest.skip("no system python3")
    if subprocess.run([system, "-c", "import torch"], capture_output=True).returncode == 0:
        pytest.skip("the system python3 has torch")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").symlink_to(system)
    return {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "VIRTUAL_ENV": ""}


# which packages it names after torch depends on what that Python happens to have
LACKS = re.compile(
    r"^error: \S+ lacks the project's packages \(torch, [^)]*\): run `make repro`, or "
    r"`source \.venv/bin/activate` first so that `python` is the project's$"
)


def test_a_stage_under_another_python_is_one_line_and_exit_2(tmp_path):
    env = foreign_python(tmp_path)
    proc = subprocess.run(["python", "-m", "stages.train", "mlp"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert LACKS.match(one_error_line(proc, alone=True))


@pytest.mark.slow
def test_dvc_from_the_venv_without_activating_it_gets_the_same_line(small_params, tmp_path):
    """`.venv/bin/dvc repro -s <stage>` from a shell where .venv is not activated: the stage's
    `python` is another one; DVC reports the failed stage, and the stage says why in one line."""
    # Its own, empty DVC cache: on the session's, DVC would restore the stage from the run-cache
    # without starting it.
    project = make_project(tmp_path / "project", small_params)
    env = foreign_python(tmp_path)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dvc"), "repro", "-s", "download@digits"],
        cwd=project.path,
        env=tool_env() | env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stdout + proc.stderr
    assert LACKS.match(error_line(proc.stderr.replace("ERROR: failed to reproduce", "(dvc) failed to reproduce")))
    assert not (project.path / "data/raw/digits").exists()
