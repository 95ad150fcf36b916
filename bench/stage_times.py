"""The default pipeline from scratch in a fresh clone of HEAD: wall time of every stage (from DVC's
"Running stage" lines as they stream, so DVC's own bookkeeping is included), the total, the
peak memory of the largest process, and a no-op `dvc repro` beside the same on a trivial
one-stage pipeline (DVC's own start-up), all in one run.

    .venv/bin/python bench/stage_times.py        (from the repository root)

Stage commands say `python`, so the interpreter running this script (its folder first on PATH)
runs them, as `make` arranges for `dvc repro`.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DVC = str(BIN / "dvc")
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def repro_with_stage_times(repo: Path) -> tuple[list[tuple[str, float]], float]:
    start = time.perf_counter()
    marks: list[tuple[str, float]] = []
    proc = subprocess.Popen([DVC, "repro"], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=ENV)
    tail: list[str] = []
    for line in proc.stdout:
        tail = (tail + [line])[-30:]
        if found := re.match(r"Running stage '([^']+)'", line):
            marks.append((found.group(1), time.perf_counter()))
    if proc.wait() != 0:
        raise SystemExit("dvc repro failed in the fresh clone; its last lines:\n" + "".join(tail))
    end = time.perf_counter()
    ends = [t for _, t in marks[1:]] + [end]
    return [(name, stop - begin) for (name, begin), stop in zip(marks, ends)], end - start


def trivial_noop(folder: Path) -> float:
    folder.mkdir()
    for args in (["git", "init", "-q"], [DVC, "init", "-q"]):
        subprocess.run(args, cwd=folder, check=True)
    (folder / "in.txt").write_text("x")
    subprocess.run([DVC, "stage", "add", "-q", "-n", "copy", "-d", "in.txt", "-o", "out.txt", "cp in.txt out.txt"],
                   cwd=folder, check=True)
    subprocess.run([DVC, "repro", "-q"], cwd=folder, check=True)
    return min(timed([DVC, "repro"], folder) for _ in range(3))


def measure() -> dict:
    """Clone HEAD, run the default pipeline from scratch and a no-op repro beside the trivial one."""
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        (repo / "dvc.lock").unlink()  # from scratch: nothing to compare against, nothing in the cache
        rows, total = repro_with_stage_times(repo)
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        noop = min(timed([DVC, "repro"], repo) for _ in range(3))
        base = trivial_noop(Path(tmp) / "trivial")
    return {"stages": {name: round(seconds, 1) for name, seconds in rows}, "total_s": round(total, 1),
            "peak_rss_mb": round(peak_mb), "noop_s": round(noop, 2), "trivial_noop_s": round(base, 2)}


def main() -> None:
    m = measure()
    width = max(len(name) for name in m["stages"])
    print(f"{'stage':<{width}} {'seconds':>8}")
    for name, seconds in m["stages"].items():
        print(f"{name:<{width}} {seconds:8.1f}")
    print(f"{'total (dvc repro from scratch)':<{width}} {m['total_s']:8.1f}")
    print(f"peak RSS of the largest process: {m['peak_rss_mb']:.0f} MB")
    print(f"no-op dvc repro: {m['noop_s']:.2f} s; trivial one-stage pipeline: {m['trivial_noop_s']:.2f} s "
          f"(ratio {m['noop_s'] / m['trivial_noop_s']:.2f})")


if __name__ == "__main__":
    main()
