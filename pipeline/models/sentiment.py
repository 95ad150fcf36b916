"""The course's sentiment RNN (lesson 8): word codes -> embedding -> a recurrent layer (`cell`:
LSTM as in the course, GRU, or a vanilla tanh RNN) -> dropout -> linear. Its output is the logit
of "positive" at the last time step (reviews are left-padded, so the last step has read every
word); a sigmoid gives the probability."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

# The schema's `cell` values (pipeline/schema/sentiment.py); kept here too, rather than shared with
# the char-RNN, so that neither model's stages depend on the other's file.
CELLS: dict[str, type[nn.RNNBase]] = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class SentimentRNN(nn.Module):
    def __init__(
        self, vocab_size: int, embedding_dim: int, hidden: int, layers: int, dropout: float, cell: str = "lstm"
    ) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.rnn = CELLS[cell](embedding_dim, hidden, layers, dropout=dropout if layers > 1 else 0.0, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T) left-padded word codes -> (B,) logits of "positive"."""
        out, _ = self.rnn(self.embed(x))  # the final state (an LSTM's h and c, or h) is not needed
        return self.fc(self.dropout(out[:, -1])).squeeze(-1)


def build(p, spec: dict[str, Any]) -> SentimentRNN:
    """The sentiment RNN over the reviews' word codes (`spec["vocab_size"]`, padding and unknown included)."""
    return SentimentRNN(spec["vocab_size"], p.embedding_dim, p.hidden, p.layers, p.dropout, p.cell)
