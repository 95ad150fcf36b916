"""Which stage does each CPU kernel choice change? (`python bench/kernels.py`)

Builds the shrunk pipeline (the tests' params) in a scratch folder with `make repro`'s scheduler,
then reruns every stage but build_cpp on its recorded inputs under each simulated machine
(tests/helpers/kernels.py: one process per machine, forked per stage) and prints, per machine,
the stages whose output bytes changed and the seconds it took. The first two rows are the pins
on and off with all four libraries forced away at once; the others force one library with the
pins off and the other three at their pins. docs/team.md's table comes from this. Run from the
repository root after `make setup`; `--project DIR` reuses a built shrunk project; `--json FILE`
also writes the rows. About 15 minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.core.kernels import CPU_KERNELS  # noqa: E402
from pipeline.core.params import read_yaml  # noqa: E402
from tests.helpers import kernels  # noqa: E402
from tests.helpers.project import make_project, shrink, tool_env  # noqa: E402

FOREIGN = {
    "OPENBLAS_CORETYPE": "SkylakeX",
    "ATEN_CPU_CAPABILITY": "avx512",
    "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX",
    "MKL_CBWR": "AUTO",
}
OFF = {"PIPELINE_CPU_KERNELS": "machine"}
MACHINES = {"pins on, all four forced": FOREIGN, "pins off, all four forced": FOREIGN | OFF} | {
    f"pins off, {name}={value}": CPU_KERNELS | OFF | {name: value}
    for name, value in [
        ("OPENBLAS_CORETYPE", "SkylakeX"),
        ("OPENBLAS_CORETYPE", "Zen"),
        ("OPENBLAS_CORETYPE", "Sandybridge"),
        ("ATEN_CPU_CAPABILITY", "avx512"),
        ("ATEN_CPU_CAPABILITY", "default"),
        ("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX"),
        ("MKL_CBWR", "AUTO"),
    ]
}


def build(folder: Path) -> Path:
    project = make_project(folder / "project", shrink(read_yaml(ROOT / "params.yaml")))
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.run.parallel", "--jobs", "2"],
        cwd=project.path,
        env=tool_env(),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the shrunk pipeline failed:\n{proc.stderr[-3000:]}")
    return project.path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--project", type=Path, help="a built shrunk project to reuse")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kernels-") as scratch:
        project = args.project.resolve() if args.project else build(Path(scratch))
        shutil.rmtree(project.parent / f"{project.name}.pristine", ignore_errors=True)  # kernels.changes' copy
        stages = [name for name in kernels.commands(project) if name != "build_cpp"]
        rows = []
        for machine, env in MACHINES.items():
            began = time.perf_counter()
            changed = kernels.changes(project, stages, tool_env() | env)
            rows.append({"machine": machine, "seconds": round(time.perf_counter() - began), "changed": changed})
            print(f"{machine:45} {rows[-1]['seconds']:4d} s  {', '.join(changed) or 'no stage changed'}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
