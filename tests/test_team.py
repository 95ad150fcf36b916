"""Team workflows with the real `git` and `dvc` CLIs in temporary folders, on the shrunk pipeline:
a teammate trains nothing (folder and S3 remotes, run-cache included), branches compare by
metrics, params and plots, experiments run and queue, and the same inputs give the same bytes."""

from __future__ import annotations

import concurrent.futures
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MLP_LR, MLP_STAGES, Project, md5, sh
from tests.helpers.dvc import edit_params, ran, restored
from tests.helpers.project import clone_project

pytestmark = pytest.mark.slow

MODELS = ("mlp", "cnn", "fashion_mlp", "transfer", "logreg", "perceptron", "charrnn", "sentiment")


def checkpoints(project: Project) -> dict[str, str]:
    return {m: md5(project.path / f"models/{m}/model.pt") for m in MODELS}


def clone(project: Project, dest: Path, env: dict | None = None) -> Project:
    dest.parent.mkdir(parents=True, exist_ok=True)
    sh(["git", "clone", "-q", str(project.path), str(dest)], dest.parent)
    return Project(dest, env)


def git_dirty(project: Project) -> str:
    return project.git("status", "--porcelain", "--untracked-files=no").stdout


# --- remotes ------------------------------------------------------------------------------------


def test_default_remote_is_a_folder_outside_the_repository(reproduced_copy, tmp_path):
    project = reproduced_copy
    home = Path.home() / ".cache" / "course-pipeline" / "dvc-remote"  # per machine, shared by its clones
    assert project.dvc("config", "core.remote").stdout.strip() == "home"
    assert project.dvc("config", "remote.home.url").stdout.strip() == str(home) and project.path not in home.parents
    project.dvc("remote", "modify", "--local", "home", "url", str(tmp_path / "elsewhere"))
    # (`dvc config`, not `dvc remote list`, whose table cuts a long path at the terminal's width)
    assert project.dvc("config", "remote.home.url").stdout.strip() == str(tmp_path / "elsewhere")
    assert git_dirty(project) == ""  # a per-clone setting (.dvc/config.local), never committed


@pytest.fixture
def s3_server(tmp_path):
    """A real S3 protocol server (moto) on 127.0.0.1, started and stopped by the test."""
    import boto3

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    credentials = {
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    try:
        for _ in range(100):
            try:
                boto3.client(
                    "s3",
                    endpoint_url=url,
                    aws_access_key_id="test-key",
                    aws_secret_access_key="test-secret",
                    region_name="us-east-1",
                ).create_bucket(Bucket="team")
                break
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.1)
        else:
            raise RuntimeError("moto_server did not start")
        yield url, credentials
    finally:
        server.terminate()
        server.wait(timeout=10)


def use_s3(project: Project, url: str) -> None:
    """Point a clone at the team's S3 remote, in its --local config only."""
    project.dvc("remote", "add", "--local", "-d", "team", "s3://team/dvc")
    project.dvc("remote", "modify", "--local", "team", "endpointurl", url)


# Over S3 (a real S3 server). A folder remote is the other kind: the uncommitted-run and same-bytes
# tests below push to and pull from one, the run-cache included.
def test_a_teammate_trains_nothing(reproduced_copy, tmp_path, s3_server):
    url, env = s3_server
    a = Project(reproduced_copy.path, env)
    use_s3(a, url)
    pushed = a.dvc("push", "--run-cache")  # what `make push` runs
    assert "pushed" in pushed.stdout
    b = clone(a, tmp_path / "teammate", env)  # another folder, nothing in its cache
    use_s3(b, url)
    proc = b.make_repro("--pull")  # the one command for a teammate: `make repro PULL=1`
    assert "fetched" in proc.stdout and ran(proc) == set() and restored(proc) == set(), proc.stdout
    assert b.status() == {}
    assert checkpoints(b) == checkpoints(a)
    for config in (a.path / ".dvc/config", b.path / ".dvc/config"):
        text = config.read_text()
        assert "test-key" not in text and "test-secret" not in text and "endpointurl" not in text
    assert git_dirty(a) == "" and git_dirty(b) == ""


def test_a_teammates_uncommitted_run_comes_from_the_shared_run_cache(mlp_experiment, tmp_path):
    a, base, run = mlp_experiment  # A computed mlp at MLP_LR and pushed its run-cache before committing
    assert ran(run) == MLP_STAGES
    b = clone(a, tmp_path / "teammate")
    b.git("checkout", "-q", base)  # on the commit A started from: A's change was not committed then
    b.dvc("remote", "add", "--local", "-d", "team", str(a.path.parent / "remote"))
    edit_params(b, lambda p: p["train"]["mlp"].update(lr=MLP_LR))
    proc = b.make_repro("--pull")  # `make repro PULL=1`: the committed outputs, then A's run from the run-cache
    assert {"train@mlp", "export@mlp", "predictions@mlp"} <= restored(proc)
    # Only the few-second evaluation and deployment check run again: their only outputs not
    # rebuilt from the cache are git-tracked metrics, which are not in the remote.
    assert ran(proc) <= {"evaluate@mlp", "deploy@mlp"}, proc.stdout
    assert md5(b.path / "models/mlp/model.pt") == md5(a.path / "models/mlp/model.pt")


# --- branches -------------------------------------------------------------------------------------


def plot_rows(project: Project, *revs: str) -> dict[str, dict[str, list]]:
    """{plot id: {rev: data rows}} from `dvc plots diff --json`."""
    out = json.loads(project.dvc("plots", "diff", *revs, "--json").stdout)
    rows: dict[str, dict[str, list]] = {}
    for plot_id, renders in out["data"].items():
        for render in renders:
            values = render.get("content", {}).get("data", {}).get("values", []) if render.get("type") == "vega" else []
            for row in values:
                clean = {k: v for k, v in row.items() if k not in ("rev", "filename")}
                rows.setdefault(plot_id, {}).setdefault(row["rev"], []).append(json.dumps(clean, sort_keys=True))
    return {pid: {rev: sorted(r) for rev, r in by.items()} for pid, by in rows.items()}


def test_branches_differ_only_where_their_params_do(mlp_experiment, tmp_path):
    project, base, run = mlp_experiment  # branch faster-mlp: mlp's learning rate, run and committed
    assert ran(run) == MLP_STAGES
    metrics = json.loads(project.dvc("metrics", "diff", base, "faster-mlp", "--json").stdout)
    assert set(metrics) <= {"metrics/mlp.json", "metrics/deploy/mlp.json"} and metrics["metrics/mlp.json"]
    params = json.loads(project.dvc("params", "diff", base, "faster-mlp", "--json").stdout)
    assert list(params) == ["params.yaml"] and list(params["params.yaml"]) == ["train.mlp.lr"]
    plots = plot_rows(project, base, "faster-mlp")
    changed = {pid for pid, by_rev in plots.items() if len(set(map(tuple, by_rev.values()))) > 1}
    assert changed and all("/mlp" in pid for pid in changed), changed

    # A clone that has pulled nothing compares too: metrics live in git, and plots diff fetches
    # the plot data of both revisions from the remote by itself.
    fresh = clone(project, tmp_path / "reviewer")
    fresh.git("checkout", "-q", "faster-mlp")
    fresh.dvc("remote", "add", "--local", "-d", "team", str(project.path.parent / "remote"))
    table = fresh.dvc("metrics", "diff", "--all", "--md", base, "faster-mlp").stdout  # the PR-comment one-liner
    assert table.startswith("| Path") and "metrics/mlp.json" in table and "metrics/cnn.json" in table
    assert plot_rows(fresh, base, "faster-mlp") == plots


# --- experiments ----------------------------------------------------------------------------------


def test_experiments_run_and_queue(reproduced_copy):
    project = reproduced_copy
    # Up to the metrics (a target): what an experiment compares; export and deployment would add
    # a minute to every run here and are tested elsewhere. Queued runs work in their own copies.
    for lr in ("0.02", "0.05"):
        project.dvc("exp", "run", "--queue", "evaluate@mlp", "-S", f"train.mlp.lr={lr}")
    # Both at once, and back when both have ended (`dvc queue start` returns at once instead, and
    # polling `dvc queue status` costs a DVC process per look)
    project.dvc("exp", "run", "--run-all", "-j", "2")
    status = project.dvc("queue", "status").stdout
    assert status.count("Success") == 2 and not re.search(r"\b(Queued|Running)\b", status), status
    shown = json.loads(project.dvc("exp", "show", "--json").stdout)
    exps = [rev for entry in shown for exp in (entry.get("experiments") or []) for rev in exp["revs"]]
    lrs = sorted(e["data"]["params"]["params.yaml"]["data"]["train"]["mlp"]["lr"] for e in exps)
    assert lrs == [0.02, 0.05]
    for e in exps:  # every model's headline metrics, not only the one that changed
        files = e["data"]["metrics"]
        assert all(f"metrics/{m}.json" in files for m in MODELS), sorted(files)
    accuracies = {json.dumps(e["data"]["metrics"]["metrics/mlp.json"]["data"]["test"]) for e in exps}
    assert len(accuracies) == 2  # two learning rates, two results
    assert project.status() == {}  # the workspace itself was left as it was


# --- bitwise reproducibility --------------------------------------------------------------------

# Through `dvc repro --force`, in two lanes side by side (as make repro runs two stages at a time;
# DVC's locks order what one lane reads of the other): a training stage and the export built on it,
# and two other families. That every stage's rerun gives the same bytes, under other kernels and
# thread counts and in another folder too, test_kernels.py shows for all of them (deploy and style
# included) at a fraction of DVC's cost.
RERUN = (["train@cnn", "export@cnn"], ["train_charrnn@charrnn", "gates@mlp"])


def rerun_lane(project: Project, stages: list[str]) -> set[str]:
    return set().union(*(ran(project.dvc("--wait-for-lock", "repro", "--force", "--single-item", s)) for s in stages))


def test_same_inputs_same_bytes_in_another_folder_and_thread_count(reproduced_copy, tmp_path, dvc_cache):
    a = reproduced_copy
    # Another folder (a clone on the session's cache: what the outputs came from is not the point
    # here, test_a_teammate_trains_nothing pulls them), another thread count, a second run of each stage.
    b = clone_project(a, tmp_path / "elsewhere" / "b", dvc_cache)
    b.env.update(OMP_NUM_THREADS="2", MKL_NUM_THREADS="2")  # the session runs 1
    with concurrent.futures.ThreadPoolExecutor(len(RERUN)) as pool:
        assert set().union(*pool.map(lambda lane: rerun_lane(b, lane), RERUN)) == {s for lane in RERUN for s in lane}
    assert git_dirty(b) == "", b.git("diff").stdout[:3000]  # dvc.lock and metrics/: the same hashes and bytes
    for rel in (
        "models/cnn/model.pt",
        "models/charrnn/model.pt",
        "exports/cnn/model.pt2",
        "exports/cnn/model.ts",
        "exports/cnn/model.onnx",
        "reports/gates/mlp.png",
        "plots/curves/cnn/loss.csv",
    ):
        assert md5(b.path / rel) == md5(a.path / rel), rel
