"""The offline GPU kit: bench/wheelhouse.py's choice of what to download (the download itself
needs PyPI and is run by hand), and bench/offline_gpu.sh installing wheels from .whl/ with no
index and running the benchmark with the interpreter it is given."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, load_script

SCRIPT = ROOT / "bench" / "offline_gpu.sh"


@pytest.fixture(scope="module")
def wheelhouse():
    return load_script("bench/wheelhouse.py")


def test_have_file_names_are_read_from_pip_freeze_output(wheelhouse, tmp_path):
    have = tmp_path / "have.txt"
    have.write_text(
        "# pip freeze\nNumPy==2.5.2\ntorch @ file:///wheels/torch.whl\nruamel.yaml==0.18\n"
        "scikit_learn==1.8\n\npydantic-core>=2\n"
    )
    assert wheelhouse.read_have(have) == {"numpy", "torch", "ruamel-yaml", "scikit-learn", "pydantic-core"}


def test_roots_are_the_projects_dependencies_without_torch_or_the_s3_plugin(wheelhouse):
    names = {wheelhouse.requirement_name(r) for r in wheelhouse.roots()}
    assert {"dvc", "pydantic", "ruamel-yaml-clib", "mlxtend"} <= names
    assert not names & {"torch", "torchvision", "dvc-s3"}


def fake_wheel(folder: Path, name: str = "offline_kit_probe") -> None:
    """The smallest valid wheel: one module and its dist-info."""
    folder.mkdir(parents=True)
    info = f"{name}-1.0.dist-info"
    files = {
        f"{name}.py": "VALUE = 42\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(folder / f"{name}-1.0-py3-none-any.whl", "w") as whl:
        for path, text in files.items():
            whl.writestr(path, text)


def copy_of_repo(dest: Path) -> Path:
    """What offline_gpu.sh and bench/speed.py need, without .git (as a copied working tree comes)."""
    for part in ("bench", "pipeline"):
        shutil.copytree(ROOT / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "params.yaml", dest)
    return dest


def run_kit(repo: Path, *args: str, python: str = sys.executable) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": python}
    return subprocess.run(
        ["bash", str(repo / "bench" / "offline_gpu.sh"), *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow  # pip installs wheels into a new venv and runs a benchmark: seconds
@pytest.mark.skipif(not shutil.which("git"), reason="the kit makes a git repository of the copy")
def test_kit_installs_the_wheels_without_an_index_and_runs_the_benchmark(tmp_path):
    repo = copy_of_repo(tmp_path / "repo")
    fake_wheel(repo / ".whl")
    proc = run_kit(repo, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "dvc 3." in proc.stdout and "usage: speed.py" in proc.stdout
    assert (repo / ".whl" / "site" / "lib" / "offline_kit_probe.py").read_text() == "VALUE = 42\n"
    assert (repo / ".git").is_dir()  # the whole-pipeline rows clone HEAD: the copy became a repository


def test_kit_without_wheels_says_how_to_make_them(tmp_path):
    proc = run_kit(copy_of_repo(tmp_path / "repo"))
    assert proc.returncode == 2 and "bench/wheelhouse.py" in proc.stderr


def test_kit_with_an_interpreter_without_torch_says_so(tmp_path):
    repo = copy_of_repo(tmp_path / "repo")
    fake_wheel(repo / ".whl")
    bare = shutil.which("python3", path="/usr/bin:/bin") or pytest.skip("no system python3")
    if subprocess.run([bare, "-c", "import torch"], capture_output=True).returncode == 0:
        pytest.skip("the system python3 has torch")
    proc = run_kit(repo, python=bare)
    assert proc.returncode == 2 and "cannot import torch" in proc.stderr
