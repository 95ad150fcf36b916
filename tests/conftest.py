"""Shared fixtures. The helpers they use live in tests/helpers/, by job; the names tests import
from here are re-exported below."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.core.params import read_yaml
from tests.helpers.project import ROOT, Project, commit_dvc_repo, make_project, sh, shrink, tool_env  # noqa: F401
from tests.helpers.server import Server, dead_url  # noqa: F401
from tests.helpers.store import accelerate, encoded_corpus, fetch, prepared_store, small_train_params  # noqa: F401
from tests.helpers.upstream import (  # noqa: F401
    image_folder_files,
    make_cifar_archive,
    make_idx_dataset,
    md5,
    png,
    real_digits,
    write_aclimdb,
    write_idx,
    write_zip,
)


def load_script(relative: str):
    """A script that is not a package module (bench/*.py), imported from its file for testing."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(f"script_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _find_shared_data() -> Path | None:
    """The course's real files (../shared/data beside the project). A clone elsewhere (CI,
    fresh-check) finds them beside the repository it was cloned from."""
    candidates = [os.environ.get("PIPELINE_SHARED_DATA"), ROOT.parent / "shared" / "data"]
    origin = subprocess.run(["git", "config", "--get", "remote.origin.url"], cwd=ROOT, capture_output=True, text=True)
    if origin.returncode == 0 and origin.stdout.strip().startswith("/"):
        candidates.append(Path(origin.stdout.strip()).parent / "shared" / "data")
    return next((Path(c) for c in candidates if c and (Path(c) / "anna.txt").is_file()), None)


SHARED_DATA = _find_shared_data()


@pytest.fixture
def shared_data() -> Path:
    if SHARED_DATA is None:
        pytest.skip("the course's real files (../shared/data) are not beside this checkout; "
                    "set PIPELINE_SHARED_DATA to their folder")
    return SHARED_DATA


@pytest.fixture
def real_params() -> dict:
    return read_yaml(ROOT / "params.yaml")


@pytest.fixture
def small_params(real_params) -> dict:
    return shrink(real_params)


@pytest.fixture
def project(tmp_path, small_params) -> Project:
    return make_project(tmp_path / "project", small_params)


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory):
    """The shrunk project after one full run of `make repro`'s command (every stage through
    `dvc repro --single-item`, two at a time), committed; (project, its output). Tests that need a
    reproduced project work on a copy (`reproduced_copy`)."""
    proj = make_project(tmp_path_factory.mktemp("reproduced") / "project", shrink(read_yaml(ROOT / "params.yaml")))
    proc = sh([sys.executable, "-m", "pipeline.parallel", "--jobs", "2"], proj.path)
    proj.git("add", "-A")
    proj.git("commit", "-qm", "repro")
    return proj, proc


@pytest.fixture
def reproduced_copy(reproduced, tmp_path) -> Project:
    dest = tmp_path / "copy"
    shutil.copytree(reproduced[0].path, dest, symlinks=True)
    return Project(dest)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    srv = Server(root)
    yield srv
    srv.close()


@pytest.fixture(scope="session")
def digits_store(tmp_path_factory) -> dict[str, Path]:
    """The real digits dataset through download and normalize, as the pipeline does it."""
    return prepared_store(tmp_path_factory.mktemp("digits"), "digits")


@pytest.fixture(scope="session")
def course_model(tmp_path_factory) -> Path:
    """The C++ program (cpp/), really built with CMake against the installed torch's LibTorch."""
    from pipeline.cpp import build

    return build(ROOT / "cpp", tmp_path_factory.mktemp("cpp") / "course_model")


@pytest.fixture(scope="session")
def trained_mlp(digits_store) -> Path:
    """A checkpoint of a small MLP trained for 3 epochs on the real digits."""
    from pipeline.augment import Policy
    from pipeline.data.store import load_split, read_info
    from pipeline.train_images import train_model

    out = digits_store["root"] / "mlp"
    train_model("mlp", small_train_params("mlp", hidden=[64], lr=0.05), load_split(digits_store["train"]),
                load_split(digits_store["val"]), read_info(digits_store["stats"]),
                Policy(10.0, 0.1, (0.95, 1.05), 0.0, 0), out / "model.pt", out / "loss.csv", out / "accuracy.csv",
                accelerate())
    return out / "model.pt"
