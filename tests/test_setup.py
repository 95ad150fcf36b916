"""The newcomer's path: the README's two commands exist, CI runs the same test command, and a
second set-up installs nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import ROOT


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
