"""Time every stage of the default pipeline from scratch, and a no-op `dvc repro` beside the
same on a trivial one-stage pipeline (DVC's own start-up), in a fresh clone of HEAD.

    python bench/stage_times.py        (run it from the repository root, with .venv active)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DVC = str(Path(sys.executable).parent / "dvc")


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        stages = subprocess.run([DVC, "stage", "list", "--name-only"], cwd=repo, check=True, capture_output=True,
                                text=True).stdout.split()
        rows = [(stage, timed([DVC, "repro", "--single-item", stage], repo)) for stage in stages]
        total = sum(t for _, t in rows)
        noop = min(timed([DVC, "repro"], repo) for _ in range(3))
        trivial = Path(tmp) / "trivial"
        trivial.mkdir()
        for args in (["git", "init", "-q"], [DVC, "init", "-q"]):
            subprocess.run(args, cwd=trivial, check=True)
        (trivial / "in.txt").write_text("x")
        subprocess.run([DVC, "stage", "add", "-q", "-n", "copy", "-d", "in.txt", "-o", "out.txt", "cp in.txt out.txt"],
                       cwd=trivial, check=True)
        subprocess.run([DVC, "repro", "-q"], cwd=trivial, check=True)
        base = min(timed([DVC, "repro"], trivial) for _ in range(3))
        shutil.rmtree(repo / ".dvc" / "cache", ignore_errors=True)
    print(f"{'stage':<20} {'seconds':>8}")
    for stage, t in rows:
        print(f"{stage:<20} {t:8.1f}")
    print(f"{'total':<20} {total:8.1f}")
    print(f"no-op dvc repro: {noop:.2f} s; trivial one-stage pipeline: {base:.2f} s (ratio {noop / base:.2f})")


if __name__ == "__main__":
    main()
