"""Shared fixtures. The helpers they use live in tests/helpers/, by job; the names tests import
from here are re-exported below."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

# One thread per process: the workers run on every core already, each with stage processes of its
# own, and torch's idle threads spin while they wait, so more threads than cores only slow all of
# them down. Set before anything imports torch; the stages the tests start inherit it. (make repro
# gives each stage cores / jobs threads: one, with two stages at a time on two cores.)
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402

from pipeline.core.params import read_yaml  # noqa: E402
from tests.helpers.dvc import ran  # noqa: E402
from tests.helpers.project import (  # noqa: F401
    ROOT,
    Project,
    clone_project,
    commit_dvc_repo,
    make_project,
    sh,
    shrink,
    tool_env,
)
from tests.helpers.server import Server, dead_url  # noqa: F401
from tests.helpers.session import build_once, shared_root
from tests.helpers.store import (  # noqa: F401
    accelerate,
    encoded_corpus,
    fetch,
    prepared_store,
    runner,
    small_train_params,
    train_image,
)
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

pytest_plugins = ["tests.helpers.durations"]  # every test's duration, written after each run


def load_script(relative: str):
    """A script that is not a package module (bench/*.py), imported from its file for testing."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(f"script_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COURSE_FILES = ROOT / "tests" / "data"  # the course's real files, their sources and MD5s: its README.md


@pytest.fixture
def course_files() -> Path:
    """The folder of the course's real files (anna.txt, student_data.csv, the photos...)."""
    return COURSE_FILES


@pytest.fixture
def real_params() -> dict:
    return read_yaml(ROOT / "params.yaml")


@pytest.fixture
def small_params(real_params) -> dict:
    return shrink(real_params)


@pytest.fixture(scope="session")
def dvc_cache(tmp_path_factory) -> Path:
    """The session's one DVC cache (outputs and run-cache), shared by every project the tests make
    and by every worker: what one test ran, another restores instead of computing again."""
    path = shared_root(tmp_path_factory) / "dvc-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def project(tmp_path, small_params, dvc_cache, reproduced) -> Project:
    """A fresh copy of the shrunk project (no dvc.lock, no outputs) on the session's cache, after
    the session's `reproduced` build: what that ran comes back from the run-cache. (Before it, a
    stage run here would be restored by the build instead of computed, which the build's test
    asserts it is.)"""
    return make_project(tmp_path / "project", small_params, cache=dvc_cache)


@pytest.fixture(scope="session")
def course_model(tmp_path_factory, dvc_cache) -> Path:
    """The C++ program (cpp/), really built with CMake against the installed torch's LibTorch, once
    per session: by the pipeline's own stage (`dvc repro build_cpp`), so that the shrunk pipeline's
    build_cpp restores it from the run-cache instead of compiling it again."""

    def build(folder: Path) -> None:
        proj = make_project(folder / "project", shrink(read_yaml(ROOT / "params.yaml")), cache=dvc_cache)
        assert ran(proj.dvc("repro", "--single-item", "build_cpp")) == {"build_cpp"}  # compiled for real

    return build_once(tmp_path_factory, "course_model", build) / "project" / "build" / "course_model"


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory, dvc_cache, course_model):
    """The shrunk project after one full run of `make repro`'s command (every stage through
    `dvc repro --single-item`, two at a time), committed; (project, its output). Built once per
    session; tests that change it work on a copy (`reproduced_copy`). Its build_cpp comes from the
    run-cache (`course_model` compiled it); every other stage computes."""

    def build(folder: Path) -> None:
        proj = make_project(folder / "project", shrink(read_yaml(ROOT / "params.yaml")), cache=dvc_cache)
        proc = sh([sys.executable, "-m", "pipeline.run.parallel", "--jobs", "2"], proj.path)
        (folder / "stdout").write_text(proc.stdout)
        (folder / "stderr").write_text(proc.stderr)
        proj.git("add", "-A")
        proj.git("commit", "-qm", "repro")

    folder = build_once(tmp_path_factory, "reproduced", build)
    proc = subprocess.CompletedProcess(
        ["make", "repro"], 0, (folder / "stdout").read_text(), (folder / "stderr").read_text()
    )
    return Project(folder / "project"), proc


# mlp's stages, and the report page that shows every model: what a change of mlp's params reruns
MLP_STAGES = {"train@mlp", "evaluate@mlp", "export@mlp", "deploy@mlp", "predictions@mlp", "visualize@mlp", "report"}
MLP_LR = 0.03  # the learning rate of the README's `dvc exp run -S train.mlp.lr=0.03`


@pytest.fixture(scope="session")
def mlp_experiment(reproduced, tmp_path_factory, dvc_cache):
    """A teammate's experiment, run once per session: a clone of the reproduced project on branch
    `faster-mlp` with `train.mlp.lr` at MLP_LR, run by `make repro`'s scheduler (computing mlp's
    stages for real: no other test of the session runs this learning rate first); its run-cache
    pushed to the folder remote `remote/` *before* the change is committed, then committed and
    every branch pushed. (project on the branch, base branch name, the scheduler's output).

    The team tests read it (a teammate restores the run from the remote's run-cache; branches
    compare by metrics, params and plots), and the README's `dvc exp run -S train.mlp.lr=0.03`
    restores what it trained from the session's run-cache, as a teammate's would."""

    def build(folder: Path) -> None:
        proj = clone_project(reproduced[0], folder / "project", dvc_cache)
        proj.dvc("remote", "add", "--local", "-d", "team", str(folder / "remote"))
        (folder / "base").write_text(proj.git("rev-parse", "--abbrev-ref", "HEAD").stdout.strip())
        proj.git("checkout", "-q", "-b", "faster-mlp")
        params = proj.read_params()
        params["train"]["mlp"]["lr"] = MLP_LR
        proj.write_params(params)
        (folder / "stdout").write_text(proj.make_repro().stdout)
        proj.dvc("push", "--run-cache")  # not committed anywhere yet: only the remote knows this run
        proj.git("add", "-A")
        proj.git("commit", "-qm", "mlp: another learning rate")
        proj.dvc("push", "--all-branches")

    folder = build_once(tmp_path_factory, "mlp_experiment", build)
    proc = subprocess.CompletedProcess(["make", "repro"], 0, (folder / "stdout").read_text(), "")
    return Project(folder / "project"), (folder / "base").read_text(), proc


@pytest.fixture
def reproduced_copy(reproduced, tmp_path, dvc_cache) -> Project:
    """A clone of the reproduced project on the session's cache, its outputs checked out."""
    return clone_project(reproduced[0], tmp_path / "copy", dvc_cache)


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
def trained_mlp(digits_store) -> Path:
    """A checkpoint of a small MLP trained for 3 epochs on the real digits."""
    from pipeline.data.augment import Policy

    out = digits_store["root"] / "mlp"
    p = small_train_params("mlp", hidden=[64], lr=0.05)
    train_image("mlp", p, digits_store, Policy(10.0, 0.1, (0.95, 1.05), 0.0, 0), out)
    return out / "model.pt"


def pytest_collection_modifyitems(items) -> None:
    """The tests on the session's reproduced project first (the longest), the rest after: under
    `--dist worksteal` one worker builds the project while the other runs quick tests, and the
    worker that finishes first takes pipeline tests off the other's queue instead of idling."""
    items.sort(key=lambda item: "reproduced" not in getattr(item, "fixturenames", ()))
    # The quick loop (-m "not slow") never builds the shrunk pipeline or the C++ program.
    unmarked = [
        item.nodeid
        for item in items
        if {"reproduced", "course_model"} & set(getattr(item, "fixturenames", ()))
        and not item.get_closest_marker("slow")
    ]
    if unmarked:
        raise pytest.UsageError(f"tests on the shrunk pipeline or the C++ program must be marked slow: {unmarked}")
