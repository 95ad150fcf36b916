"""Training the character-level RNN (LSTM, GRU or vanilla RNN: `cell`); its evaluation is
pipeline/inspection/evaluate_charrnn.py, its text windows and sampling live with the model
(pipeline/models/charrnn.py).

Batches as in the course: the text is cut into `batch_size` long rows and walked through in
windows of `seq_length`, the hidden state carried from one window to the next (detached);
gradients are clipped; the validation loss is measured on the held-out tail of the text.

Under torchrun the rows are dealt out, not the windows: each rank takes an equal block of
`batch_size / ranks` consecutive rows and walks all of its windows in order, so its hidden state
stays continuous along its own rows, and DDP averages the gradients, which makes each step the
mean over all `batch_size` rows, as in one process (`batch_size` must divide by the ranks)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.core.errors import ConfigError
from pipeline.models import build_model
from pipeline.models.charrnn import CharRNN, batches
from pipeline.schema.charrnn import Params as CharRNNParams
from pipeline.training.engine.loop import OPTIMIZERS, Outputs, TrainResult, run_training

if TYPE_CHECKING:  # passed in by the stage, never built here
    from pipeline.training.engine.runner import Runner

log = logging.getLogger(__name__)


def _check_length(codes: torch.Tensor, p: CharRNNParams, split: str, key: str) -> None:
    if (len(codes) - 1) // p.batch_size < p.seq_length:
        raise ConfigError(
            f"{key}: the {split} text ({len(codes):,} characters) is shorter than one batch of "
            f"batch_size x seq_length = {p.batch_size * p.seq_length:,}; lower them"
        )


def run_epoch(
    model: CharRNN,
    codes: torch.Tensor,
    p: CharRNNParams,
    optimizer: torch.optim.Optimizer | None,
    runner: Runner | None = None,
    trainer: nn.Module | None = None,
) -> dict:
    """Train (with an optimizer) or measure (without) over one pass of `codes`. With a `runner`,
    this rank's block of rows through `trainer` (its DDP wrapper of `model`), the figures summed
    over every rank; without, all rows through `model`."""
    model.train(optimizer is not None)
    rows = runner.rows(p.batch_size, f"{runner.key}.batch_size") if runner else slice(None)
    step = trainer or model
    h, c = model.init_state(len(range(p.batch_size)[rows]), codes.device)
    loss_sum = torch.zeros((), device=codes.device)
    correct = torch.zeros((), dtype=torch.int64, device=codes.device)
    count = torch.zeros((), dtype=torch.int64, device=codes.device)
    with torch.set_grad_enabled(optimizer is not None):
        for x, y in batches(codes, p.batch_size, p.seq_length, rows):
            logits, h, c = step(x, h.detach(), c.detach())
            loss = F.cross_entropy(logits.reshape(-1, model.vocab_size), y.reshape(-1))
            if optimizer is not None:
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), p.clip)
                optimizer.step()
            loss_sum += loss.detach() * y.numel()
            correct += (logits.detach().argmax(-1) == y).sum()
            count += y.numel()
    if runner is not None:
        loss_sum, correct, count = (runner.all_sum(t) for t in (loss_sum, correct, count))
    return {"loss": loss_sum.item() / count.item(), "accuracy": correct.item() / count.item()}


def train_charrnn(
    name: str,
    p: CharRNNParams,
    tokens: dict[str, torch.Tensor],
    vocab: dict,
    outputs: Outputs,
    runner: Runner,
) -> TrainResult:
    """Train char-RNN entry `name` on the encoded corpus, as `runner` says; write the checkpoint
    (best validation loss) and curves."""
    device = runner.device
    train, val = tokens["train"].long().to(device), tokens["val"].long().to(device)
    _check_length(train, p, "training", f"charrnn.{name}")
    _check_length(val, p, "validation", f"charrnn.{name}")
    spec = {"chars": vocab["chars"]}
    runner.rows(p.batch_size, f"{runner.key}.batch_size")  # rows that do not divide: fail before training
    model = runner.model(build_model("charrnn", p, spec))
    optimizer = OPTIMIZERS[p.optimizer](model.parameters(), p)
    trainer = runner.trainer(model)
    meta = {
        "model": name,
        "family": "charrnn",
        "arch": "charrnn",
        "params": p.model_dump(),
        "spec": spec,
        "dataset": vocab["dataset"],
        "text_md5": vocab["text_md5"],
    }
    log.info(
        "%s (%s) on %s: %s training / %s validation characters, vocabulary %d, %s",
        name,
        p.cell,
        vocab["dataset"],
        f"{len(train):,}",
        f"{len(val):,}",
        len(vocab["chars"]),
        runner.describe(),
    )
    epochs = (lambda: run_epoch(model, train, p, optimizer, runner, trainer), lambda: run_epoch(model, val, p, None))
    return run_training(runner, model, optimizer, p, meta, outputs, *epochs)
