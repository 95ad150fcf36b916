"""Stage evaluate_charrnn's work: the character-level RNN's validation loss, perplexity,
next-character accuracy, macro precision and recall, and seeded text samples."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from pipeline.core.errors import ConfigError
from pipeline.core.io import atomic_open, write_json
from pipeline.inspection.metrics import confusion_matrix, per_class_scores
from pipeline.models.charrnn import batches, sample
from pipeline.schema.charrnn import Params as CharRNNParams
from pipeline.schema.charrnn import Sampling, prime_problem
from pipeline.weights.checkpoint import load_checkpoint


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
