"""The course's sentiment LSTM (lesson 8): word codes -> embedding -> LSTM -> dropout -> linear.
Its output is the logit of "positive" at the last time step (reviews are left-padded, so the
last step has read every word); a sigmoid gives the probability."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class SentimentRNN(nn.Module):
    def __init__(self, vocab_size: int, embedding_dim: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.lstm = nn.LSTM(embedding_dim, hidden, layers, dropout=dropout if layers > 1 else 0.0, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(x))
        return self.fc(self.dropout(out[:, -1])).squeeze(-1)


def build(p, spec: dict[str, Any]) -> SentimentRNN:
    return SentimentRNN(spec["vocab_size"], p.embedding_dim, p.hidden, p.layers, p.dropout)
