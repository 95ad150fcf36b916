"""Simulated machines: each stage of a reproduced project run again, on the inputs the project
recorded, with other CPU kernels forced through the environment; which output files change.

`changes` starts one process with the environment of the simulated machine (`python
tests/helpers/kernels.py PROJECT STAGE...`). It imports the project's own `pipeline` (which pins,
or not, as that environment says) and every stage module, then forks once per stage and runs the
stage's command from dvc.lock in the child, as `python -m stages.<x> ...` would run it. The fork
saves each stage the seconds of importing torch; every stage still starts from the same untouched
state. Stages run one at a time on the recorded inputs: what one wrote is compared with the
recorded bytes and then put back, so each difference belongs to the stage that made it, not to
one upstream of it."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pkgutil
import runpy
import shlex
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import yaml

# What the stages import when they run (inside their functions): imported once here, before the
# forks, so each stage pays for its work and not for the imports.
HEAVY = (
    "torch.export",
    "torch.export._trace",
    "torch._dynamo",
    "torch.onnx",
    "torch.onnx._internal.exporter._core",
    "torch.onnx._internal.exporter._compat",
    "onnxscript",
    "onnxruntime",
    "torchvision",
    "matplotlib.pyplot",
    "sklearn.metrics",
    "PIL.Image",
    "pandas",
)


def commands(project: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Each stage of dvc.lock: its command's words and its outputs (files or folders)."""
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    return {
        name: (shlex.split(entry["cmd"]), [out["path"] for out in entry.get("outs", [])])
        for name, entry in lock["stages"].items()
    }


def digests(root: Path, outs: list[str]) -> dict[str, str]:
    """path -> MD5 of every file under `outs` in `root`."""
    found = {}
    for out in outs:
        path = root / out
        for file in sorted(path.rglob("*")) if path.is_dir() else [path] if path.exists() else []:
            if file.is_file():
                found[str(file.relative_to(root))] = hashlib.md5(file.read_bytes()).hexdigest()
    return found


def put_back(project: Path, pristine: Path, outs: list[str]) -> None:
    for out in outs:
        here, kept = project / out, pristine / out
        if here.is_dir():
            shutil.rmtree(here)
        elif here.exists():
            here.unlink()
        if kept.is_dir():
            shutil.copytree(kept, here)
        elif kept.exists():
            shutil.copy2(kept, here)


def changes(project: Path, stages: list[str], env: dict[str, str]) -> dict[str, list[str]]:
    """stage -> the output files it wrote other than dvc.lock's run did, under `env` (the caller's
    environment, which should be the project's tool environment, plus the simulated machine's)."""
    pristine = project.parent / f"{project.name}.pristine"
    if not pristine.exists():
        shutil.copytree(project, pristine, symlinks=True, ignore=shutil.ignore_patterns(".git", ".dvc"))
    proc = subprocess.run(
        [sys.executable, __file__, str(project), str(pristine), *stages],
        env=env | {"PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise AssertionError(f"stages failed under {env}:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.splitlines()[-1])


def _run(argv: list[str]) -> int:
    """In a forked child: the stage's `[VAR=value ...] python -m stages.<x> args` as Python would run it.
    The runner itself starts with PYTHONHASHSEED=0, which some stage commands set."""
    while argv and "=" in argv[0]:
        name, _, value = argv.pop(0).partition("=")
        if name == "PYTHONHASHSEED" and value != os.environ.get(name):
            raise SystemExit(f"the runner's PYTHONHASHSEED is not {value}")
        os.environ[name] = value
    if argv[:2] != ["python", "-m"]:
        raise SystemExit(f"not a stage command: {shlex.join(argv)}")
    sys.argv = [argv[2], *argv[3:]]
    try:
        runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else 0 if err.code is None else 1
    except BaseException:  # noqa: BLE001 - a stage that crashed: its traceback, then exit 1
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _main(project: Path, pristine: Path, stages: list[str]) -> None:
    os.chdir(project)
    sys.path[0] = str(project)  # the project's own pipeline and stages, as its commands import them
    importlib.import_module("pipeline")  # pins the kernels, or not, as the environment says
    import stages as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"stages.{module.name}")
    for module in HEAVY:
        importlib.import_module(module)
    table = commands(project)
    found = {}
    for stage in stages:
        argv, outs = table[stage]
        sys.stdout.flush()
        if (pid := os.fork()) == 0:
            os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the stage's output is not this one's
            os._exit(_run(argv))
        if (code := os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])) != 0:
            raise SystemExit(f"{stage} failed (exit {code})")
        before, after = digests(pristine, outs), digests(project, outs)
        put_back(project, pristine, outs)
        if changed := sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path)):
            found[stage] = changed
    print(json.dumps(found))


if __name__ == "__main__":
    _main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
