"""`make bench`, 5: seconds for `mlp` to reach 97 % validation accuracy on an MNIST-format folder,
beside scikit-learn's SVC fit on the same split."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from bench.params import BenchParams
from pipeline.core.store import Split
from pipeline.data.augment import Policy, augment_batch
from pipeline.models import as_float, build_model
from pipeline.training.engine.loop import MULTICLASS, OPTIMIZERS, evaluate, train_one_epoch
from pipeline.training.engine.runner import Runner


def accuracy_per_second(
    P: BenchParams, folder: Path, device: torch.device, target: float = 0.97, max_epochs: int = 100
) -> dict:
    from pipeline.core.params import MODELS
    from pipeline.data.normalize import channel_stats, make_splits
    from pipeline.data.sources import facts, read_source

    mnist = facts("mnist", read_source(MODELS.parents[1] / "datasets" / "mnist", "mnist"))
    splits = make_splits(mnist, folder, P.normalize["mnist"])
    train = Split(torch.from_numpy(splits["train"].inputs), torch.from_numpy(splits["train"].labels))
    val = Split(torch.from_numpy(splits["val"].inputs), torch.from_numpy(splits["val"].labels))
    mean, std = channel_stats(splits["train"].inputs)
    p = P.model("mlp")
    start = time.perf_counter()
    runner = Runner.local("train.mlp", p.seed, device, P.accelerate)  # seeds, as a stage's runner does
    model = runner.model(
        build_model(
            "mlp", p, {"input_shape": [1, 28, 28], "classes": [str(i) for i in range(10)], "mean": mean, "std": std}
        )
    )
    acc = runner.accel
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    policy = Policy.from_params(P.augment["mnist"])
    gen, shuffle = torch.Generator().manual_seed(0), torch.Generator().manual_seed(p.seed)
    train_d, val_d = acc.place(train), acc.place(val)
    reached, epoch, va = None, 0, {"accuracy": 0.0}
    for epoch in range(1, max_epochs + 1):
        train_one_epoch(
            model,
            train_d,
            optimizer,
            p.batch_size,
            shuffle,
            MULTICLASS,
            lambda x: augment_batch(as_float(acc.to_device(x)), policy, gen),
            runner=runner,
        )
        va = evaluate(model, Split(acc.to_device(val_d.inputs), val_d.labels), 1000)
        if va["accuracy"] >= target:
            reached = time.perf_counter() - start
            break
    from sklearn.svm import SVC

    x_train = splits["train"].inputs.reshape(len(train), -1) / 255.0
    x_val = splits["val"].inputs.reshape(len(val), -1) / 255.0
    svc_start = time.perf_counter()
    svc = SVC().fit(x_train, splits["train"].labels)
    svc_fit = time.perf_counter() - svc_start
    svc_acc = float((svc.predict(x_val) == splits["val"].labels).mean())
    out = {
        "data": str(folder),
        "train": len(train),
        "val": len(val),
        "target": target,
        "mlp_seconds_to_target": None if reached is None else round(reached, 2),
        "mlp_epochs": epoch,
        "mlp_val_accuracy": round(va["accuracy"], 4),
        "svc_fit_seconds": round(svc_fit, 2),
        "svc_val_accuracy": round(svc_acc, 4),
    }
    print(
        f"  mlp: {out['mlp_seconds_to_target']} s to {target:.0%} ({epoch} epochs); SVC fit {svc_fit:.2f} s, "
        f"val {svc_acc:.2%}",
        flush=True,
    )
    return out
