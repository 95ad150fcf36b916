"""The course's review preprocessing, torch-free so that `predict` shares it with training."""

from __future__ import annotations

import re
import string

_PUNCTUATION = re.compile(f"[{re.escape(string.punctuation)}]")


def tokenize(text: str) -> list[str]:
    """Lowercase, strip punctuation, split on whitespace (the course's preprocessing)."""
    return _PUNCTUATION.sub("", text.lower()).split()
