"""What bit-identical training costs on the CPU, and which switch achieves it.

For each model family it trains the default model briefly (after `make repro`, from the
pipeline's data) in a fresh process per setting, with 1 and with 2 torch threads, and reports the
time per run and whether the weights came out byte-identical across the thread counts:

- default: all cores, oneDNN on (PyTorch's defaults);
- oneDNN off: torch.backends.mkldnn.enabled = False;
- deterministic: what `runtime.deterministic` does on a CPU (pipeline/training/engine/runtime.py).

    python bench/determinism.py
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import hashlib, logging, sys, tempfile, time
sys.path.insert(0, ".")
import torch
from bench.params import load
from pipeline.training.engine.runtime import configure
from pipeline.training.engine.loop import Outputs
from pipeline.training.engine.runner import Runner
from pipeline.schema.runtime import RuntimeParams
threads, setting, family = int(sys.argv[1]), sys.argv[2], sys.argv[3]
torch.set_num_threads(threads)
if setting == "onednn_off":
    torch.backends.mkldnn.enabled = False
if setting == "deterministic":
    configure(RuntimeParams(deterministic="on"), "cpu", "--device")
logging.basicConfig(level=logging.WARNING)
P = load()
from pipeline.core.io import load_torch, read_json
from pipeline.core.store import load_split, read_info
import torch._dynamo  # imported by the first optimizer step anyway (seconds); kept out of the timing
start = time.perf_counter()
with tempfile.TemporaryDirectory() as t:
    out = Outputs.under(t)
    if family in ("mlp", "cnn"):
        from pipeline.data.augment import Policy
        from pipeline.training.train import ImageData, train_model
        d = "data/processed/digits/"
        train_model(family, P.train[family].model_copy(update={"epochs": 3, "patience": 9}),
                    ImageData(load_split(d + "train.pt"), load_split(d + "val.pt"), read_info(d + "stats.json"),
                              Policy.from_params(P.augment["digits"])), out,
                    Runner.local(family, P.train[family].seed, "cpu", P.accelerate))
    elif family == "charrnn":
        from pipeline.training.charrnn import train_charrnn
        tok = load_torch("data/processed/pydoc/tokens.pt")
        train_charrnn("c", P.charrnn["charrnn"].model_copy(update={"epochs": 1}), tok,
                      read_json("data/processed/pydoc/vocab.json"), out, Runner.local("c", P.charrnn["charrnn"].seed))
    else:
        from pipeline.training.sentiment import train_sentiment
        d = "data/processed/synthetic_reviews/"
        train_sentiment("s", P.sentiment["sentiment"].model_copy(update={"epochs": 2}), load_split(d + "train.pt"),
                        load_split(d + "val.pt"), read_json(d + "vocab.json"), out,
                        Runner.local("s", P.sentiment["sentiment"].seed))
    state = load_torch(out.checkpoint)["model_state"]
    digest = hashlib.md5(b"".join(v.numpy().tobytes() for v in state.values())).hexdigest()
print(f"{time.perf_counter() - start:.2f} {digest}")
"""


def run(threads: int, setting: str, family: str) -> tuple[float, str]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(threads), setting, family],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), out[1]


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    needed = [ROOT / "data" / "processed" / d for d in ("digits", "pydoc", "synthetic_reviews")]
    if missing := [str(p.relative_to(ROOT)) for p in needed if not p.is_dir()]:
        raise SystemExit(f"{', '.join(missing)} not found: run `make repro` first (this trains on the pipeline's data)")
    print(f"{'model':<10} {'setting':<14} {'1 thread s':>10} {'2 threads s':>11}  identical across threads")
    for family in ("mlp", "cnn", "charrnn", "sentiment"):
        for setting in ("default", "onednn_off", "deterministic"):
            (t1, h1), (t2, h2) = run(1, setting, family), run(2, setting, family)
            print(f"{family:<10} {setting:<14} {t1:10.1f} {t2:11.1f}  {'yes' if h1 == h2 else 'no'}")


if __name__ == "__main__":
    main()
