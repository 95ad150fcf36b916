"""The real project, small: params.yaml shrunk, and a copy of the repository in a temporary git
repository for driving the real dvc CLI."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from pipeline.core.params import read_yaml
from pipeline.schema.families import FAMILIES
from tests.helpers.session import use_cache

ROOT = Path(__file__).resolve().parents[2]


# --- params ---------------------------------------------------------------------------------


def _small_image_model(m: dict) -> None:
    m.update(epochs=1, patience=1, batch_size=64, device="cpu")
    if "hidden" in m:
        m["hidden"] = [32]
    if "channels" in m:
        m.update(channels=[4, 8], fc=16)


# family (pipeline.schema.families) -> how one model entry of it is made tiny
SMALL_MODEL: dict[str, Callable[[dict], None]] = {
    "train": _small_image_model,
    "transfer": _small_image_model,
    "tabular": lambda m: m.update(epochs=3, patience=3),
    "charrnn": lambda m: m.update(hidden=16, layers=1, seq_length=16, batch_size=8, epochs=1, device="cpu"),
    "sentiment": lambda m: m.update(embedding_dim=8, hidden=8, layers=1, epochs=1, device="cpu"),
    "style": lambda m: m.update(size=32, steps=2, log_every=1, device="cpu"),
}


def shrink(params: dict) -> dict:
    """The real params.yaml made tiny: one or two epochs and small layers, same structure."""
    p = copy.deepcopy(params)
    for section in FAMILIES:  # a family without a SMALL_MODEL entry fails here, by name
        for m in p[section].values():
            SMALL_MODEL[section](m)
    for m in p["gates"]["models"].values():
        m.update(epochs=min(m["epochs"], 10), patience=min(m["patience"], 10))
    p["gates"]["data"]["per_corner"] = 5
    for m in p["sample"].values():
        m.update(length=20, samples=1)
    for a in p["augment"].values():
        a["preview_images"] = 8
    for name, d in p["download"].items():
        if d.get("generate"):
            d["generate"]["samples"] = 300
    for e in p["encode_text"].values():
        e["max_chars"] = 20000
    p["filters"]["size"] = 64
    p["evaluate"]["device"] = "cpu"
    return p


# --- a project copy for the real dvc CLI ----------------------------------------------------


def project_files() -> list[str]:
    """Tracked and untracked-but-not-ignored files: the working tree a commit would hold."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return [f for f in out.split("\0") if f and (ROOT / f).exists()]


def tool_env() -> dict:
    """Environment whose `python` and `dvc` are this interpreter's (the project's .venv)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        DVC_NO_ANALYTICS="1",
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@t",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@t",
        PYTHONUNBUFFERED="1",
    )
    return env


def sh(args: list[str], cwd: Path, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=tool_env() | (env or {}), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def commit_dvc_repo(path: Path) -> Path:
    """Make `path` (its files written) a git and DVC repository with everything committed."""
    sh(["git", "init", "-q"], path)
    sh([str(Path(sys.executable).with_name("dvc")), "init", "-q"], path)
    sh(["git", "add", "-A"], path)
    sh(["git", "commit", "-qm", "pipeline"], path)
    return path


class Project:
    """A copy of this repository in a temporary folder, committed; `env` is added to every command's."""

    def __init__(self, path: Path, env: dict | None = None) -> None:
        self.path = path
        self.env = env or {}

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh([str(Path(sys.executable).parent / "dvc"), *args], self.path, check, self.env)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh(["git", *args], self.path, check, self.env)

    def make_repro(self, *args: str) -> subprocess.CompletedProcess:
        """What `make repro` runs after its check: the scheduler, two stages at a time (each one
        through `dvc repro --single-item`, so its output names the stages that ran); `--pull` for
        `make repro PULL=1`."""
        return sh([sys.executable, "-m", "pipeline.run.parallel", "--jobs", "2", *args], self.path, True, self.env)

    def write_params(self, params: dict) -> None:
        (self.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def read_params(self) -> dict:
        return read_yaml(self.path / "params.yaml")

    def status(self) -> dict:
        import json

        return json.loads(self.dvc("status", "--json").stdout or "{}")


def make_project(dest: Path, params: dict, cache: Path | None = None) -> Project:
    """This repository's files (without its dvc.lock and metrics) in `dest`, with `params`,
    committed to a new git repository; on the DVC cache `cache` if given (else its own, empty)."""
    for rel in project_files():
        if rel == "dvc.lock" or rel.startswith("metrics/"):
            continue  # start from nothing: the test's own run makes these
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    proj = Project(dest)
    proj.write_params(params)
    proj.git("init", "-q")
    proj.git("add", "-A")
    proj.git("commit", "-qm", "copy")
    if cache is not None:
        use_cache(dest, cache)
    return proj


def clone_project(project: Project, dest: Path, cache: Path) -> Project:
    """A teammate's copy on the same machine: `git clone`, the same DVC cache, `dvc checkout`."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    sh(["git", "clone", "-q", str(project.path), str(dest)], dest.parent)
    use_cache(dest, cache)
    copy = Project(dest, dict(project.env))
    copy.dvc("checkout", "--quiet")
    return copy
