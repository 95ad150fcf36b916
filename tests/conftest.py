"""Shared fixtures: the real params.yaml shrunk, a copy of the project in a temporary git
repository for driving the real dvc CLI, a local HTTP server, and small files in the exact
upstream formats (IDX gz, CIFAR-10 python tar.gz) made from real images."""

from __future__ import annotations

import copy
import gzip
import hashlib
import http.server
import importlib.util
import io
import os
import pickle
import shutil
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.config import read_yaml

ROOT = Path(__file__).resolve().parents[1]


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


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# --- params ---------------------------------------------------------------------------------


def shrink(params: dict) -> dict:
    """The real params.yaml made tiny: one or two epochs and small layers, same structure."""
    p = copy.deepcopy(params)
    for section in ("train", "transfer"):
        for m in p[section].values():
            m.update(epochs=1, patience=1, batch_size=64, device="cpu")
            if "hidden" in m:
                m["hidden"] = [32]
            if "channels" in m:
                m.update(channels=[4, 8], fc=16)
    for m in p["tabular"].values():
        m.update(epochs=3, patience=3)
    for m in p["charrnn"].values():
        m.update(hidden=16, layers=1, seq_length=16, batch_size=8, epochs=1, sample_length=20, samples=1, device="cpu")
    for m in p["sentiment"].values():
        m.update(embedding_dim=8, hidden=8, layers=1, epochs=1, device="cpu")
    for m in p["style"].values():
        m.update(size=32, steps=2, log_every=1, device="cpu")
    for a in p["augment"].values():
        a["preview_images"] = 8
    for name, d in p["download"].items():
        if d.get("generate"):
            d["generate"]["samples"] = 300
    for e in p["encode_text"].values():
        e["max_chars"] = 20000
    p["evaluate"]["device"] = "cpu"
    return p


@pytest.fixture
def real_params() -> dict:
    return read_yaml(ROOT / "params.yaml")


@pytest.fixture
def small_params(real_params) -> dict:
    return shrink(real_params)


# --- a project copy for the real dvc CLI ----------------------------------------------------


def project_files() -> list[str]:
    """Tracked and untracked-but-not-ignored files: the working tree a commit would hold."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                         check=True, capture_output=True).stdout.decode()
    return [f for f in out.split("\0") if f and (ROOT / f).exists()]


def tool_env() -> dict:
    """Environment whose `python` and `dvc` are this interpreter's (the project's .venv)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(DVC_NO_ANALYTICS="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", PYTHONUNBUFFERED="1")
    return env


def sh(args: list[str], cwd: Path, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=tool_env() | (env or {}), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


class Project:
    """A copy of this repository in a temporary folder, committed; `env` is added to every command's."""

    def __init__(self, path: Path, env: dict | None = None) -> None:
        self.path = path
        self.env = env or {}

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh([str(Path(sys.executable).parent / "dvc"), *args], self.path, check, self.env)

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh(["git", *args], self.path, check, self.env)

    def write_params(self, params: dict) -> None:
        (self.path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))

    def read_params(self) -> dict:
        return read_yaml(self.path / "params.yaml")

    def status(self) -> dict:
        import json

        return json.loads(self.dvc("status", "--json").stdout or "{}")


def make_project(dest: Path, params: dict) -> Project:
    """This repository's files (without its dvc.lock and metrics) in `dest`, with `params`,
    committed to a new git repository."""
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
    return proj


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


# --- a local HTTP server ---------------------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        server = self.server
        server.requests.append(self.path)
        for prefix, (code, remaining) in list(server.faults.items()):
            if self.path.startswith(prefix) and remaining != 0:
                server.faults[prefix] = (code, remaining - 1)
                if code == "truncate":
                    self.send_response(200)
                    self.send_header("Content-Length", "1000000")
                    self.end_headers()
                    self.wfile.write(b"x" * 10)
                    return
                self.send_error(code)
                return
        super().do_GET()


class Server:
    def __init__(self, root: Path) -> None:
        handler = lambda *a, **kw: _Handler(*a, directory=str(root), **kw)  # noqa: E731
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests = []
        self.httpd.faults = {}
        self.root = root
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def fail(self, prefix: str, code: int | str, times: int = -1) -> None:
        """Answer requests under `prefix` with HTTP `code` (or 'truncate'), `times` times (-1: always)."""
        self.httpd.faults[prefix] = (code, times)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    srv = Server(root)
    yield srv
    srv.close()


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connection refused."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# --- files in the upstream formats, from real images -----------------------------------------


def real_digits(size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 real handwritten digits, enlarged to size x size uint8 like MNIST."""
    from PIL import Image
    from sklearn.datasets import load_digits

    d = load_digits()
    imgs = [np.asarray(Image.fromarray((im * 255 / 16).astype(np.uint8)).resize((20, 20), Image.BILINEAR))
            for im in d.images]
    out = np.zeros((len(imgs), size, size), np.uint8)
    pad = (size - 20) // 2
    out[:, pad:pad + 20, pad:pad + 20] = np.stack(imgs)
    return out, d.target.astype(np.uint8)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def make_idx_dataset(folder: Path, n_train: int = 600, n_test: int = 200) -> dict[str, str]:
    """The four MNIST files, real digits inside; returns {file name: md5}."""
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = real_digits()
    parts = {"train": (images[:n_train], labels[:n_train]),
             "t10k": (images[n_train:n_train + n_test], labels[n_train:n_train + n_test])}
    for prefix, (x, y) in parts.items():
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", x)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", y)
    return {p.name: md5(p) for p in folder.iterdir()}


def _cifar_pickle(obj: dict) -> bytes:
    # Upstream batches name numpy's pre-2.0 module; keep that, as the real files do.
    return pickle.dumps(obj, protocol=2).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def make_cifar_archive(folder: Path, per_batch: int = 40) -> dict[str, str]:
    """cifar-10-python.tar.gz with the upstream members, holding 32x32 patches of real photos."""
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        def add(name: str, obj: dict) -> None:
            data = _cifar_pickle(obj)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            patches, labels = [], []
            for _ in range(per_batch):
                photo = photos[rng.integers(len(photos))]
                y, x = rng.integers(0, photo.shape[0] - 32), rng.integers(0, photo.shape[1] - 32)
                patches.append(photo[y:y + 32, x:x + 32].transpose(2, 0, 1).reshape(-1))
                labels.append(int(rng.integers(10)))
            add(name, {b"batch_label": name.encode(), b"labels": labels, b"data": np.stack(patches).astype(np.uint8),
                       b"filenames": [f"{i}.png".encode() for i in range(per_batch)]})
        add("batches.meta", {b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog",
                                              b"frog", b"horse", b"ship", b"truck"], b"num_cases_per_batch": per_batch})
    path = folder / "cifar-10-python.tar.gz"
    path.write_bytes(buf.getvalue())
    return {path.name: md5(path)}


# --- a small real store and checkpoint, built once per session -------------------------------


def prepared_store(root: Path, name: str, source: str) -> dict[str, Path]:
    """A bundled dataset through download and normalize into `root`, as the pipeline does it: the
    three splits, stats.json and the root."""
    from pipeline.config import DownloadParams, NormalizeParams
    from pipeline.data.fetch import fetch_dataset
    from pipeline.data.normalize import normalize_dataset

    fetch_dataset(name, DownloadParams(source=source), root / "raw")
    paths = {s: root / f"{s}.pt" for s in ("train", "val", "test")}
    normalize_dataset(name, source, root / "raw",
                      NormalizeParams(val_fraction=0.15, test_fraction=0.2, seed=0), paths, root / "stats.json")
    return paths | {"stats": root / "stats.json", "root": root}


@pytest.fixture(scope="session")
def digits_store(tmp_path_factory) -> dict[str, Path]:
    """The real digits dataset through download and normalize, as the pipeline does it."""
    return prepared_store(tmp_path_factory.mktemp("digits"), "digits", "sklearn_digits")


def small_train_params(arch: str = "mlp", **overrides):
    from pipeline.config import ARCH_PARAMS

    real = read_yaml(ROOT / "params.yaml")
    entry = next(p for p in shrink(real)["train"].values() if p["arch"] == arch)
    return ARCH_PARAMS[arch].model_validate(entry | {"epochs": 3} | overrides)


@pytest.fixture(scope="session")
def trained_mlp(digits_store) -> Path:
    """A checkpoint of a small MLP trained for 3 epochs on the real digits."""
    from pipeline.augment import Policy
    from pipeline.data.store import load_split, read_info
    from pipeline.train_images import train_model

    out = digits_store["root"] / "mlp"
    train_model("mlp", small_train_params("mlp", hidden=[64], lr=0.05), load_split(digits_store["train"]),
                load_split(digits_store["val"]), read_info(digits_store["stats"]),
                Policy(10.0, 0.1, (0.95, 1.05), 0.0, 0), out / "model.pt", out / "loss.csv", out / "accuracy.csv")
    return out / "model.pt"


# --- more upstream layouts: image folders, IMDB, the course's review files ---------------------


def jpeg_bytes(image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def image_folder_files(photos: dict[str, Path], per_class: int = 4) -> dict[str, bytes]:
    """{relative path: JPEG bytes} laid out as train/<class>/ and test/<class>/, each class made of
    crops and flips of one real photo."""
    from PIL import Image, ImageOps

    files = {}
    for cls, path in photos.items():
        with Image.open(path) as img:
            img = img.convert("RGB")
            w, h = img.size
            for i in range(per_class + 2):
                crop = img.crop((i * w // 20, i * h // 20, w - i * w // 30, h - i * h // 30))
                crop = ImageOps.mirror(crop) if i % 2 else crop
                split = "train" if i < per_class else "test"
                files[f"{split}/{cls}/{cls}.{i}.jpg"] = jpeg_bytes(crop)
    return files


def write_zip(path: Path, files: dict[str, bytes], root: str = "") -> str:
    import zipfile

    with zipfile.ZipFile(path, "w") as zf:
        for rel, data in sorted(files.items()):
            zf.writestr(root + rel, data)
    return md5(path)


def write_aclimdb(path: Path, reviews: dict[str, list[tuple[str, int]]]) -> str:
    """aclImdb_v1.tar.gz with aclImdb/<split>/<pos|neg>/<id>_<stars>.txt members."""
    with tarfile.open(path, "w:gz") as tar:
        for split, rows in reviews.items():
            for i, (text, label) in enumerate(rows):
                data = text.encode()
                info = tarfile.TarInfo(f"aclImdb/{split}/{'pos' if label else 'neg'}/{i}_{8 if label else 2}.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return md5(path)
