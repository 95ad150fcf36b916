"""One process against 2 gloo ranks on this machine's CPUs, per family that trains under
`distributed.launcher`: best validation loss and accuracy, and seconds.

Run it in a reproduced project (after `make repro`, so that every training stage's inputs are
there): `python bench/ranks.py` (or `--project DIR`). For each family's first entry it runs the
stage's own command from dvc.lock, outputs to a temporary folder, with a copy of params.yaml:

- in one process at the entry's seed and at `--seeds` more seeds: the spread of those runs is the
  run-to-run noise of one process (a rank's different dropout masks and augmentation draws are
  what a different seed changes; the steps themselves are one process's, pipeline.training.engine.distributed);
- as 2 gloo ranks (`torchrun --standalone --nproc-per-node 2 -m`) at the entry's seed.

It prints a Markdown table (docs/gpu.md has the one from this machine) and, with --json, writes
the figures. The seconds are the command's wall time, start-up included."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.core.io import load_torch  # noqa: E402  (after the path: run as a script)

# family -> (params section, training stage): the families whose stage command starts with the launcher
FAMILIES = {
    "image": ("train", "train"),
    "transfer": ("transfer", "train_transfer"),
    "sentiment": ("sentiment", "train_sentiment"),
    "charrnn": ("charrnn", "train_charrnn"),
}
TORCHRUN = [str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc-per-node", "2", "-m"]
OUTPUTS = ("--checkpoint", "--loss-curve", "--accuracy-curve")


def command(project: Path, stage: str) -> list[str]:
    """The stage's command as dvc.lock recorded it, without its launcher: [module, args...]."""
    lock = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    words = shlex.split(lock[stage]["cmd"])
    return words[words.index("-m") + 1 :]


def run_once(project: Path, stage: str, params: dict, launcher: list[str], tmp: Path) -> dict:
    """One training by `launcher` with `params`, outputs under `tmp`: its metrics and seconds."""
    args = command(project, stage)
    for option in OUTPUTS:
        args[args.index(option) + 1] = str(tmp / option.strip("-"))
    (tmp / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    start = time.perf_counter()
    proc = subprocess.run(
        [*launcher, *args, "--params", str(tmp / "params.yaml")], cwd=project, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"error: {stage} failed under {' '.join(launcher)} (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    metrics = load_torch(tmp / "checkpoint")["metrics"]
    return {"val_loss": metrics["val_loss"], "val_accuracy": metrics["val_accuracy"], "seconds": round(seconds, 1)}


def measure(project: Path, family: str, seeds: int) -> dict:
    section, stage_name = FAMILIES[family]
    params = yaml.safe_load((project / "params.yaml").read_text())
    entry = next(iter(params[section]))
    stage = f"{stage_name}@{entry}"
    seed = params[section][entry]["seed"]
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for k in range(seeds + 1):
            params[section][entry]["seed"] = seed + k
            tmp = Path(folder) / f"one-{k}"
            tmp.mkdir()
            runs.append(run_once(project, stage, params, [sys.executable, "-m"], tmp))
        params[section][entry]["seed"] = seed
        (Path(folder) / "two").mkdir()
        two = run_once(project, stage, params, TORCHRUN, Path(folder) / "two")
    losses = [r["val_loss"] for r in runs]
    return {"stage": stage, "one": runs[0], "two": two, "seed_losses": losses, "noise": max(losses) - min(losses)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--project", type=Path, default=ROOT, help="a reproduced project (default: this checkout)")
    ap.add_argument("--seeds", type=int, default=2, help="more one-process runs at other seeds, for the noise")
    ap.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    rows = {family: measure(args.project.resolve(), family, args.seeds) for family in args.families}
    print(
        "| family (stage) | 1 process: val loss, acc, s | 2 gloo ranks: val loss, acc, s | |difference| | noise: spread of 1 process over seeds |"
    )
    print("|---|---|---|---|---|")
    for family, r in rows.items():
        one, two = r["one"], r["two"]
        print(
            f"| {family} ({r['stage']}) | {one['val_loss']:.4f}, {one['val_accuracy']:.3f}, {one['seconds']} "
            f"| {two['val_loss']:.4f}, {two['val_accuracy']:.3f}, {two['seconds']} "
            f"| {abs(two['val_loss'] - one['val_loss']):.4f} | {r['noise']:.4f} ({len(r['seed_losses'])} seeds) |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
