"""Test accuracy of the default mlp and cnn on digits over several seeds, beside scikit-learn's
SVC trained on the same training data (train + validation) and scored on the same test split.

    python bench/accuracy_digits.py [--seeds 0 1 2 3]   (after `make repro`; reads data/processed/digits)
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench.params import load  # noqa: E402
from pipeline.core.store import load_split, read_info  # noqa: E402
from pipeline.data.augment import Policy  # noqa: E402
from pipeline.models import predict  # noqa: E402
from pipeline.training.engine.loop import Outputs  # noqa: E402
from pipeline.training.engine.runner import Runner  # noqa: E402
from pipeline.training.train import ImageData, train_model  # noqa: E402
from pipeline.weights.checkpoint import load_checkpoint  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--data", default="data/processed/digits")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    params = load("params.yaml")
    d = Path(args.data)
    train, val, test, info = (
        load_split(d / "train.pt"),
        load_split(d / "val.pt"),
        load_split(d / "test.pt"),
        read_info(d / "stats.json"),
    )
    print(f"digits: {len(train)} train / {len(val)} validation / {len(test)} test images")
    for name in ("mlp", "cnn"):
        accs, secs = [], []
        for seed in args.seeds:
            p = params.train[name].model_copy(update={"seed": seed})
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                train_model(
                    name,
                    p,
                    ImageData(train, val, info, Policy.from_params(params.augment["digits"])),
                    Outputs(f"{tmp}/m.pt", f"{tmp}/l.csv", f"{tmp}/a.csv"),
                    Runner.local(f"train.{name}", seed, p.device, params.accelerate),
                )
                secs.append(time.perf_counter() - start)
                model, _ = load_checkpoint(f"{tmp}/m.pt")
                accs.append((predict(model, test.inputs, 1000).argmax(1) == test.labels).float().mean().item())
        print(
            f"{name}: test accuracy "
            + ", ".join(f"{a:.4f}" for a in accs)
            + f" (seeds {args.seeds}); mean {statistics.mean(accs):.4f}, min {min(accs):.4f}; "
            f"{statistics.mean(secs):.1f} s per training"
        )
    from sklearn.svm import SVC

    x = lambda s: s.inputs.flatten(1).float().numpy() / 255  # noqa: E731
    start = time.perf_counter()
    svc = SVC(gamma="scale").fit(np.concatenate([x(train), x(val)]), torch.cat([train.labels, val.labels]).numpy())
    acc = (svc.predict(x(test)) == test.labels.numpy()).mean()
    print(
        f"SVC (scikit-learn defaults) on train+validation: test accuracy {acc:.4f} ({time.perf_counter() - start:.2f} s)"
    )


if __name__ == "__main__":
    main()
