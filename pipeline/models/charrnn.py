"""The course's character-level RNN (lesson 7): characters (one-hot, or an embedding) -> a
recurrent layer (`cell`: LSTM as in the course, GRU, or a vanilla tanh RNN) -> dropout -> linear
over the vocabulary. The hidden state goes in and comes out, so text can be generated, or fed in
chunks, one call after another.

Every cell has the one signature (x, h, c) -> (logits, h, c). Only an LSTM has a cell state `c`;
a GRU or RNN returns the `c` it is given, unchanged (zeros). Why: every consumer (training,
sampling, the three export formats, cpp/course_model generate, ONNX Runtime, predict, the
deployment check) then runs every cell with the same code and the same state shapes, where a
second signature for cells without `c`, or one state tensor whose shape depends on the cell,
would need a branch in each of them. The cost is one unused tensor per call; the export's
metadata.json says which cell it is."""

from __future__ import annotations

from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from pipeline.core.errors import ConfigError
from pipeline.schema.charrnn import prime_problem

# The schema's `cell` values (pipeline/schema/charrnn.py); kept here too, rather than shared with
# the sentiment model, so that neither model's stages depend on the other's file.
CELLS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class CharRNN(nn.Module):
    # A constant to TorchScript, which then compiles only this model's branch of forward
    # (isinstance(self.rnn, nn.LSTM) is not settled that way once the tracer has seen the module).
    __constants__ = ["has_cell_state"]

    def __init__(
        self,
        vocab_size: int,
        hidden: int,
        layers: int,
        dropout: float,
        onehot: bool,
        embedding_dim: int,
        cell: str = "lstm",
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.onehot = onehot
        self.hidden = hidden
        self.layers = layers
        self.embed = nn.Identity() if onehot else nn.Embedding(vocab_size, embedding_dim)
        self.rnn = CELLS[cell](
            vocab_size if onehot else embedding_dim,
            hidden,
            layers,
            dropout=dropout if layers > 1 else 0.0,
            batch_first=True,
        )
        self.has_cell_state = isinstance(self.rnn, nn.LSTM)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, vocab_size)

    def forward(
        self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (batch, time) character codes; h, c: (layers, batch, hidden). Returns logits
        (batch, time, vocab) and the new h, c (c unchanged but for an LSTM)."""
        inputs = F.one_hot(x, self.vocab_size).float() if self.onehot else self.embed(x)
        if self.has_cell_state:
            out, (h, c) = self.rnn(inputs, (h, c))
        else:
            out, h = self.rnn(inputs, h)
        return self.fc(self.dropout(out)), h, c

    def init_state(self, batch: int, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Zero (h, c) for `batch` sequences: two (layers, batch, hidden) tensors on `device`."""
        zeros = torch.zeros(self.layers, batch, self.hidden, device=device)
        return zeros, zeros.clone()


def build(p, spec: dict[str, Any]) -> CharRNN:
    """The character-level RNN over the corpus's characters (`spec["chars"]`)."""
    return CharRNN(len(spec["chars"]), p.hidden, p.layers, p.dropout, p.onehot, p.embedding_dim, p.cell)


def top_k_choice(probs: torch.Tensor, k: int, gen: torch.Generator) -> int:
    """The course's sampling step: one character code drawn from the `k` most likely of `probs` (a
    1-D distribution on the CPU), weighted by their probabilities, with `gen`. Python's sampler and
    `predict` on TorchScript both draw here, so a seed gives them the same text; the C++ program
    draws the same way (cpp/course_model.cpp)."""
    top_p, top_i = probs.topk(k)
    return int(top_i[torch.multinomial(top_p / top_p.sum(), 1, generator=gen)].item())


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
