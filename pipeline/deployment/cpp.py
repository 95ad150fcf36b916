"""The C++ consumer of TorchScript exports (cpp/course_model.cpp): built with CMake against the
LibTorch inside the installed torch wheel, and run on tensors from Python."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import torch

from pipeline.core.errors import CppError
from pipeline.core.io import load_torch, save_torch

log = logging.getLogger(__name__)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise CppError(
            f"{name} is not installed; the C++ program needs cmake and a C++20 compiler "
            "(Debian: apt-get install cmake g++)"
        )
    return found


def _torch_lib() -> Path:
    return Path(torch.__file__).resolve().parent / "lib"


def build(source: str | Path, out: str | Path) -> Path:
    """Configure and build `source` (the cpp/ folder) in a temporary folder beside `out`, then move
    the binary to `out`: a failed build leaves nothing behind."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    cmake = _tool("cmake")
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".cmake-") as work:
        configure = [
            cmake,
            "-S",
            str(Path(source).resolve()),
            "-B",
            work,
            "-DCMAKE_BUILD_TYPE=Release",
            f"-DCMAKE_PREFIX_PATH={torch.utils.cmake_prefix_path}",
            f"-DCOURSE_MODEL_DIR={out.parent}",
        ]
        for step in (configure, [cmake, "--build", work, "--parallel", str(os.cpu_count() or 1)]):
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                raise CppError(
                    f"building {source} failed ({' '.join(step[:2])}):\n{(done.stdout + done.stderr)[-3000:]}"
                )
        os.replace(Path(work) / "course_model", out)
    log.info("built %s against torch %s", out, torch.__version__)
    return out


def _run(binary: str | Path, args: list[str]) -> subprocess.CompletedProcess:
    # The binary finds libtorch through a path relative to itself; LD_LIBRARY_PATH covers a binary
    # moved elsewhere (pulled from a teammate's cache into another layout, say).
    env = os.environ | {
        "LD_LIBRARY_PATH": os.pathsep.join(filter(None, [str(_torch_lib()), os.environ.get("LD_LIBRARY_PATH")]))
    }
    done = subprocess.run([str(binary), *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise CppError(f"{binary} {args[0]} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


def run_model(binary: str | Path, model_ts: str | Path, inputs: Any, batch: int) -> Any:
    """Outputs of `model_ts` run by the C++ program on `inputs` (a tensor, run `batch` rows at a
    time, or a list of tensors: the positional arguments of one call)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "inputs.pt", Path(tmp) / "outputs.pt"
        save_torch(inputs, src)
        _run(binary, ["run", str(model_ts), str(src), str(dst), "--batch", str(batch)])
        return load_torch(dst)


def generate(binary: str | Path, model_ts: str | Path, prime: str, length: int, top_k: int, seed: int) -> str:
    """Text from the character model, written by the C++ program."""
    done = _run(
        binary,
        [
            "generate",
            str(model_ts),
            "--prime",
            prime,
            "--length",
            str(length),
            "--top-k",
            str(top_k),
            "--seed",
            str(seed),
        ],
    )
    return done.stdout.removesuffix("\n")
