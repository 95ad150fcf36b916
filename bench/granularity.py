"""How many stages does an edit of each library file rerun? (`python bench/granularity.py`)

Clones the committed HEAD into a scratch folder, and for every `pipeline/**/*.py` file (and every
dataset entry under `datasets/`, where the layout has them) appends one comment line, asks
`dvc status --json` which stages now have a changed dependency, and puts the file back. Nothing is
run and no output is needed: a stage counts when one of its dependencies (a file, or a folder
holding the file) changed against the committed dvc.lock.

Prints one row per file (lines, stages it reruns, of how many) and, at the end, the files that
rerun every stage and their total lines: the core. Run from the repository root (after
`make setup`); `--json FILE` also writes the rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dvc() -> str:
    beside = Path(sys.executable).with_name("dvc")
    found = str(beside) if beside.exists() else shutil.which("dvc")
    if not found:
        raise SystemExit("dvc not found: run `make setup` first")
    return found


def stale_stages(repo: Path) -> set[str]:
    """Stages with a changed dependency (outputs are absent in a scratch clone, so ignore them)."""
    proc = subprocess.run([dvc(), "status", "--json"], cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"dvc status failed in {repo}:\n{proc.stderr}")
    status = json.loads(proc.stdout or "{}")
    return {
        stage
        for stage, changes in status.items()
        if not stage.endswith(".dvc")
        and any(_modified(c.get("changed deps", {})) for c in changes if isinstance(c, dict))
    }


def _modified(deps: dict) -> bool:
    """A dependency that exists and changed (upstream outputs are simply absent here: 'deleted')."""
    return any(state != "deleted" for state in deps.values())


def all_stages(repo: Path) -> set[str]:
    proc = subprocess.run([dvc(), "stage", "list", "--name-only"], cwd=repo, capture_output=True, text=True, check=True)
    return set(proc.stdout.split())


def measure(repo: Path) -> list[dict]:
    files = sorted(p for p in (repo / "pipeline").rglob("*.py") if "__pycache__" not in p.parts)
    datasets = repo / "datasets"
    if datasets.is_dir():
        files += sorted(p for p in datasets.rglob("*") if p.is_file())
    baseline = stale_stages(repo)
    if baseline:
        raise SystemExit(
            f"the committed dvc.lock is out of date with the code ({len(baseline)} stages stale); "
            "run `make repro` and commit dvc.lock first"
        )
    rows = []
    for path in files:
        original = path.read_bytes()
        comment = b"\n# granularity probe\n" if path.suffix in (".py", ".yaml", ".yml") else b"\n"
        try:
            path.write_bytes(original + comment)
            stale = stale_stages(repo)
        finally:
            path.write_bytes(original)
        rows.append(
            {
                "file": str(path.relative_to(repo)),
                "lines": original.count(b"\n"),
                "stages": len(stale),
                "which": sorted(stale),
            }
        )
        print(f"{rows[-1]['file']:<42} {rows[-1]['lines']:>5} lines  {len(stale):>3} stages", flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="granularity-") as tmp:
        repo = Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        total = len(all_stages(repo))
        print(
            f"HEAD {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=repo, capture_output=True, text=True).stdout.strip()}: "
            f"{total} stages\n"
        )
        rows = measure(repo)
    everything = [r for r in rows if r["stages"] == total]
    print(f"\nfiles that rerun all {total} stages: {len(everything)}, {sum(r['lines'] for r in everything)} lines")
    for r in everything:
        print(f"  {r['file']} ({r['lines']} lines)")
    print(f"files that rerun nothing: {sum(1 for r in rows if r['stages'] == 0)} of {len(rows)}")
    if args.json:
        Path(args.json).write_text(json.dumps({"stages": total, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
