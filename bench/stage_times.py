"""The default pipeline from scratch in fresh clones of HEAD, both ways, in one run:

- `dvc repro`, one stage at a time: wall time of every stage (from DVC's "Running stage" lines as
  they stream, so DVC's own bookkeeping is included) and the total;
- `make repro`'s command, `python -m pipeline.run.parallel` (stages side by side, one per CPU):
  the total, and whether both ways wrote the same outputs (the md5s DVC recorded in dvc.lock);
- for each, the peak memory of the largest process and of all processes together (sampled);
- a no-op of each beside a no-op `dvc repro` on a trivial one-stage pipeline (DVC's own start-up).

    .venv/bin/python bench/stage_times.py        (from the repository root)

Stage commands say `python`, so the interpreter running this script (its folder first on PATH)
runs them, as `make` arranges for `dvc repro`; `dvc` is the one beside it, else the first on PATH.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil  # installed with dvc
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from pipeline.run.parallel import cpu_count  # noqa: E402

BIN = Path(sys.executable).parent
ENV = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
# dvc beside this interpreter (.venv/bin), else the first on PATH (bench/offline_gpu.sh installs it elsewhere)
DVC = shutil.which("dvc", path=ENV["PATH"]) or "dvc"


def timed(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


class MemorySampler:
    """Peak RSS of this process's descendants, largest one and all together, sampled every 0.2 s."""

    def __init__(self) -> None:
        self.largest_mb = self.total_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.2):
            sizes = []
            for child in me.children(recursive=True):
                try:
                    sizes.append(child.memory_info().rss / 2**20)
                except psutil.Error:
                    pass  # it ended meanwhile
            self.largest_mb = max(self.largest_mb, max(sizes, default=0.0))
            self.total_mb = max(self.total_mb, sum(sizes))

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def streamed(args: list[str], repo: Path, on_line=lambda line: None) -> float:
    """Run a command, feeding its lines to `on_line`; seconds it took. Fails with its last lines."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    tail: list[str] = []
    for line in proc.stdout:
        tail = (tail + [line])[-30:]
        on_line(line)
    if proc.wait() != 0:
        raise SystemExit(f"{' '.join(args)} failed in the fresh clone; its last lines:\n" + "".join(tail))
    return time.perf_counter() - start


def repro_with_stage_times(repo: Path) -> tuple[list[tuple[str, float]], float]:
    marks: list[tuple[str, float]] = []

    def mark(line: str) -> None:
        if found := re.match(r"Running stage '([^']+)'", line):
            marks.append((found.group(1), time.perf_counter()))

    start = time.perf_counter()
    total = streamed([DVC, "repro"], repo, mark)
    ends = [t for _, t in marks[1:]] + [start + total]
    return [(name, stop - begin) for (name, begin), stop in zip(marks, ends)], total


def fresh_clone(dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    (dest / "dvc.lock").unlink()  # from scratch: nothing to compare against, nothing in the cache
    return dest


def recorded_outputs(repo: Path) -> dict[str, str]:
    stages = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    return {out["path"]: out.get("md5") for stage in stages.values() for out in stage.get("outs", [])}


def trivial_noop(folder: Path) -> float:
    folder.mkdir()
    for args in (["git", "init", "-q"], [DVC, "init", "-q"]):
        subprocess.run(args, cwd=folder, check=True)
    (folder / "in.txt").write_text("x")
    subprocess.run(
        [DVC, "stage", "add", "-q", "-n", "copy", "-d", "in.txt", "-o", "out.txt", "cp in.txt out.txt"],
        cwd=folder,
        check=True,
    )
    subprocess.run([DVC, "repro", "-q"], cwd=folder, check=True)
    return min(timed([DVC, "repro"], folder) for _ in range(3))


def measure() -> dict:
    """Clone HEAD twice; run the default pipeline from scratch with `dvc repro` in one and with
    `python -m pipeline.run.parallel` in the other; no-op each; the trivial pipeline's no-op."""
    parallel = [sys.executable, "-m", "pipeline.run.parallel"]
    with tempfile.TemporaryDirectory() as tmp:
        repo = fresh_clone(Path(tmp) / "clone")
        with MemorySampler() as seq_mem:
            rows, total = repro_with_stage_times(repo)
        noop = min(timed([DVC, "repro"], repo) for _ in range(3))
        par_repo = fresh_clone(Path(tmp) / "parallel")
        with MemorySampler() as par_mem:
            par_total = streamed(parallel, par_repo)
        par_noop = min(timed(parallel, par_repo) for _ in range(3))
        same = recorded_outputs(repo) == recorded_outputs(par_repo)
        base = trivial_noop(Path(tmp) / "trivial")
    return {
        "stages": {name: round(seconds, 1) for name, seconds in rows},
        "total_s": round(total, 1),
        "peak_rss_mb": round(seq_mem.largest_mb),
        "peak_rss_all_mb": round(seq_mem.total_mb),
        "parallel": {
            "jobs": cpu_count(),
            "total_s": round(par_total, 1),
            "peak_rss_mb": round(par_mem.largest_mb),
            "peak_rss_all_mb": round(par_mem.total_mb),
            "noop_s": round(par_noop, 2),
            "same_outputs_as_dvc_repro": same,
        },
        "noop_s": round(noop, 2),
        "trivial_noop_s": round(base, 2),
    }


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    m = measure()
    p = m["parallel"]
    width = max(len(name) for name in m["stages"])
    print(f"{'stage':<{width}} {'seconds':>8}")
    for name, seconds in m["stages"].items():
        print(f"{name:<{width}} {seconds:8.1f}")
    print(f"{'total (dvc repro from scratch)':<{width}} {m['total_s']:8.1f}")
    print(
        f"{'total (make repro: ' + str(p['jobs']) + ' at a time)':<{width}} {p['total_s']:8.1f}  "
        f"same outputs: {'yes' if p['same_outputs_as_dvc_repro'] else 'NO'}"
    )
    print(
        f"peak RSS, dvc repro: largest process {m['peak_rss_mb']} MB, all together {m['peak_rss_all_mb']} MB; "
        f"make repro: {p['peak_rss_mb']} MB, {p['peak_rss_all_mb']} MB"
    )
    print(
        f"no-op dvc repro: {m['noop_s']:.2f} s; no-op make repro's command: {p['noop_s']:.2f} s; trivial one-stage "
        f"pipeline: {m['trivial_noop_s']:.2f} s (ratio {m['noop_s'] / m['trivial_noop_s']:.2f})"
    )


if __name__ == "__main__":
    main()
