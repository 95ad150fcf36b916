"""Training, evaluating and sampling the character-level RNN (LSTM, GRU or vanilla RNN: `cell`).

Batches as in the course: the text is cut into `batch_size` long rows and walked through in
windows of `seq_length`, the hidden state carried from one window to the next (detached);
gradients are clipped; the validation loss is measured on the held-out tail of the text.

Under torchrun the rows are dealt out, not the windows: each rank takes an equal block of
`batch_size / ranks` consecutive rows and walks all of its windows in order, so its hidden state
stays continuous along its own rows, and DDP averages the gradients, which makes each step the
mean over all `batch_size` rows, as in one process (`batch_size` must divide by the ranks)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.core.errors import ConfigError
from pipeline.core.io import atomic_open, write_json
from pipeline.inspection.metrics import confusion_matrix, per_class_scores
from pipeline.models import build_model
from pipeline.models.charrnn import CharRNN, top_k_choice
from pipeline.schema.charrnn import Params as CharRNNParams
from pipeline.schema.charrnn import Sampling, prime_problem
from pipeline.training.engine.loop import OPTIMIZERS, Outputs, TrainResult, run_training
from pipeline.weights.checkpoint import load_checkpoint

if TYPE_CHECKING:  # passed in by the stage, never built here
    from pipeline.training.engine.runner import Runner

log = logging.getLogger(__name__)


def batches(
    codes: torch.Tensor, batch_size: int, seq_length: int, rows: slice = slice(None)
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(x, y) windows of (batch_size, seq_length); y is x shifted by one character. `rows`: only
    those rows of every window (a rank's block)."""
    per_row = (len(codes) - 1) // batch_size // seq_length * seq_length
    rows_x = codes[: batch_size * per_row].view(batch_size, per_row)[rows]
    rows_y = codes[1 : batch_size * per_row + 1].view(batch_size, per_row)[rows]
    for start in range(0, per_row, seq_length):
        yield rows_x[:, start : start + seq_length], rows_y[:, start : start + seq_length]


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


@torch.no_grad()
def sample(model: CharRNN, chars: list[str], prime: str, length: int, top_k: int, gen: torch.Generator) -> str:
    """Generate `length` characters after `prime`, each drawn from the top_k most likely."""
    model.eval()
    index = {ch: i for i, ch in enumerate(chars)}
    if (problem := prime_problem(prime, chars, "prime")) is not None:
        raise ConfigError(problem)
    h, c = model.init_state(1)
    logits, h, c = model(torch.tensor([[index[ch] for ch in prime]]), h, c)
    out = list(prime)
    for _ in range(length):
        probs = F.softmax(logits[0, -1], dim=-1)
        choice = top_k_choice(probs, min(top_k, len(chars)), gen)
        out.append(chars[choice])
        logits, h, c = model(torch.tensor([[choice]]), h, c)
    return "".join(out)


def evaluate_charrnn(
    checkpoint: str | Path,
    tokens: dict[str, torch.Tensor],
    sampling: Sampling,
    metrics_json: str | Path,
    samples_txt: str | Path,
    key: str = "sample",
) -> dict:
    """Validation loss, perplexity, next-character accuracy, macro precision and recall; then
    seeded samples (the sample section's settings, `key` in params.yaml). Metrics are written last."""
    model, ckpt = load_checkpoint(checkpoint)
    # The prime first: a character the corpus lacks fails now, not after the evaluation.
    if (problem := prime_problem(sampling.prime, ckpt["spec"]["chars"], f"{key}.prime")) is not None:
        raise ConfigError(problem)
    p = CharRNNParams.model_validate(ckpt["params"])
    val = tokens["val"].long()
    h, c = model.init_state(p.batch_size)
    losses, preds, targets = [], [], []
    with torch.no_grad():
        for x, y in batches(val, p.batch_size, p.seq_length):
            logits, h, c = model(x, h, c)
            losses.append(F.cross_entropy(logits.reshape(-1, model.vocab_size), y.reshape(-1), reduction="sum"))
            preds.append(logits.argmax(-1).reshape(-1))
            targets.append(y.reshape(-1))
    y_true, y_pred = torch.cat(targets), torch.cat(preds)
    loss = torch.stack(losses).sum().item() / len(y_true)
    matrix = confusion_matrix(y_true, y_pred, model.vocab_size)
    present = (matrix.sum(0) + matrix.sum(1)) > 0  # macro over the characters that occur or are predicted
    scores = per_class_scores(matrix)
    precision, recall = scores["precision"][present].mean(), scores["recall"][present].mean()
    s = sampling
    gen = torch.Generator().manual_seed(s.seed)
    texts = [sample(model, ckpt["spec"]["chars"], s.prime, s.length, s.top_k, gen) for _ in range(s.samples)]
    with atomic_open(samples_txt) as fh:
        for i, text in enumerate(texts, 1):
            fh.write(f"--- sample {i} (prime {s.prime!r}, top_k {s.top_k}, seed {s.seed}) ---\n{text}\n\n")
    r = lambda v: round(float(v), 6)  # noqa: E731
    metrics = {
        "best_epoch": ckpt["epoch"],
        "val": {
            "loss": r(loss),
            "perplexity": r(torch.tensor(loss).exp()),
            "accuracy": r((y_true == y_pred).double().mean()),
            "precision_macro": r(precision),
            "recall_macro": r(recall),
        },
    }
    write_json(metrics_json, metrics)
    return metrics
