"""The course's character-level LSTM (lesson 7): characters (one-hot, or an embedding) -> LSTM
-> dropout -> linear over the vocabulary. The hidden state goes in and comes out, so text can be
generated, or fed in chunks, one call after another."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class CharRNN(nn.Module):
    def __init__(self, vocab_size: int, hidden: int, layers: int, dropout: float, onehot: bool,
                 embedding_dim: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.onehot = onehot
        self.hidden = hidden
        self.layers = layers
        self.embed = nn.Identity() if onehot else nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(vocab_size if onehot else embedding_dim, hidden, layers,
                            dropout=dropout if layers > 1 else 0.0, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, vocab_size)

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (batch, time) character codes; h, c: (layers, batch, hidden). Returns logits
        (batch, time, vocab) and the new h, c."""
        inputs = F.one_hot(x, self.vocab_size).float() if self.onehot else self.embed(x)
        out, (h, c) = self.lstm(inputs, (h, c))
        return self.fc(self.dropout(out)), h, c

    def init_state(self, batch: int, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(self.layers, batch, self.hidden, device=device)
        return zeros, zeros.clone()


def build(p, spec: dict[str, Any]) -> CharRNN:
    return CharRNN(len(spec["chars"]), p.hidden, p.layers, p.dropout, p.onehot, p.embedding_dim)
