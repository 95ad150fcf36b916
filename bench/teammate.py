"""A teammate's restore: `make repro PULL=1` beside DVC's own `dvc repro --pull`, on fresh clones
of this checkout, from a folder remote that holds every output and the run-cache.

Run it in a reproduced checkout (after `make repro`; `dvc status` clean): `python bench/teammate.py`.
For each way it clones the committed HEAD into a temporary folder with an empty DVC cache, points
it at the remote and times the one command, then checks that nothing computed and that
`dvc status` is clean. CPU is the command's own and its children's (user + system)."""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.run.dvc import RAN  # noqa: E402  (after the path: run as a script)
from pipeline.run.progress import statuses  # noqa: E402

DVC = str(Path(sys.executable).with_name("dvc"))
WAYS = {
    "dvc repro --pull (DVC alone)": [DVC, "repro", "--pull"],
    "make repro PULL=1 (pipeline.run.parallel --pull)": [sys.executable, "-m", "pipeline.run.parallel", "--pull"],
}


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"error: `{' '.join(args)}` failed in {cwd} (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def clone(origin: Path, dest: Path, remote: Path) -> Path:
    run(["git", "clone", "-q", str(origin), str(dest)], origin.parent)
    run([DVC, "remote", "add", "--local", "-d", "bench", str(remote)], dest)
    return dest


def measure(work: Path, remote: Path, name: str, args: list[str]) -> dict:
    """Time `args` in a fresh clone; what it computed and restored, and whether status is clean."""
    dest = clone(work / "origin", work / name.split()[0], remote)
    cpu, start = children_cpu(), time.perf_counter()
    proc = run(args, dest)
    wall, cpu = time.perf_counter() - start, children_cpu() - cpu
    said = statuses(proc.stdout)
    clean = json.loads(run([DVC, "status", "--json"], dest).stdout or "{}") == {}
    return {
        "way": name,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "computed": sorted(s for s, what in said.items() if what == RAN),
        "clean": clean,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.parse_args(argv)
    if json.loads(run([DVC, "status", "--json"], ROOT).stdout or "{}"):
        print("error: this checkout is not reproduced (`dvc status` is not clean): run `make repro` first")
        return 2
    work = Path(tempfile.mkdtemp(prefix="teammate-"))
    try:
        remote = work / "remote"
        origin = clone(ROOT, work / "origin", remote)
        run([DVC, "cache", "dir", "--local", str(ROOT / ".dvc" / "cache")], origin)
        run([DVC, "push", "--run-cache", "-q"], origin)
        rows = [measure(work, remote, name, args) for name, args in WAYS.items()]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'way':52} {'wall s':>7} {'CPU s':>7}  computed  status")
    for r in rows:
        print(
            f"{r['way']:52} {r['wall_s']:7.1f} {r['cpu_s']:7.1f}  {len(r['computed']):8d}  "
            f"{'clean' if r['clean'] else 'NOT clean'}"
        )
    return 0 if all(r["clean"] and not r["computed"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
