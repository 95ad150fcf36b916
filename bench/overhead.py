"""`make bench`, 3: a stage's fixed cost (process start, imports, params parsing) over
`python -c "import torch"`."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def best_of(args: list[str], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def stage_overhead() -> dict:
    """Each stage script's fixed cost: start Python, import the stage (and what it imports at
    the top) and parse params.yaml, beside a bare `import torch`."""
    base = best_of([sys.executable, "-c", "import torch"])
    stages = sorted(p.stem for p in (ROOT / "stages").glob("*.py") if p.stem != "__init__")
    per = {}
    for stage in stages:
        per[stage] = round(
            best_of(
                [
                    sys.executable,
                    "-c",
                    f"import stages.{stage}; from pipeline.run import check; check.load('params.yaml')",
                ],
                3,
            ),
            3,
        )
    worst = max(per, key=per.get)
    print(
        f"  import torch {base:.2f} s; slowest stage start {worst} {per[worst]:.2f} s (+{per[worst] - base:.2f} s)",
        flush=True,
    )
    return {
        "import_torch_s": round(base, 3),
        "stages_s": per,
        "worst_stage": worst,
        "worst_extra_s": round(per[worst] - base, 3),
    }
