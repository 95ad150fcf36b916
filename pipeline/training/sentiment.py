"""Training the sentiment RNN (LSTM, GRU or vanilla RNN: `cell`): the shared minibatch loop with
the binary log-loss and gradient clipping, as in the course; under torchrun each rank trains on its
shard of every epoch's reviews (pipeline.training.engine.runner)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch

from pipeline.core.store import Split
from pipeline.models import build_model
from pipeline.schema.sentiment import Params as SentimentParams
from pipeline.training.engine import loop

if TYPE_CHECKING:  # passed in by the stage, never built here
    from pipeline.training.engine.runner import Runner

log = logging.getLogger(__name__)


def train_sentiment(
    name: str,
    p: SentimentParams,
    train: Split,
    val: Split,
    vocab: dict,
    outputs: loop.Outputs,
    runner: Runner,
) -> loop.TrainResult:
    """Train sentiment entry `name` on the encoded reviews, as `runner` says; write the checkpoint
    (best validation loss) and curves."""
    spec = {
        "vocab_size": len(vocab["words"]) + 2,
        "seq_length": vocab["seq_length"],
        "classes": vocab["classes"],
        "binary": True,
        "probabilistic": True,
    }
    model = runner.model(build_model("sentiment", p, spec))
    optimizer = loop.OPTIMIZERS[p.optimizer](model.parameters(), p)
    trainer = runner.trainer(model)
    device = runner.device
    train_d = Split(train.inputs.to(device), train.labels.to(device))
    val_d = Split(val.inputs.to(device), val.labels.to(device))
    shuffle = torch.Generator().manual_seed(p.seed)
    meta = {
        "model": name,
        "family": "sentiment",
        "arch": "sentiment",
        "params": p.model_dump(),
        "spec": spec,
        "dataset": vocab["dataset"],
        "vocab": vocab["words"],
        "metrics_extra": {"synthetic_data": int(vocab["synthetic"])},
    }
    log.info(
        "%s (%s) on %s: %d train / %d val reviews, vocabulary %d, %s",
        name,
        p.cell,
        vocab["dataset"],
        len(train),
        len(val),
        spec["vocab_size"],
        runner.describe(),
    )
    epochs = (
        lambda: loop.train_one_epoch(
            trainer, train_d, optimizer, p.batch_size, shuffle, loop.BINARY, clip=p.clip, runner=runner
        ),
        lambda: loop.evaluate(model, val_d, p.batch_size, loop.BINARY),
    )
    return loop.run_training(runner, model, optimizer, p, meta, outputs, *epochs)
