"""Pictures the stages write: matplotlib without a display, and PNG bytes that are the same on
every rerun (Agg, default style, fixed dpi, no software tag), written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.core.io import atomic_open

DPI = 100


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: str | Path, dpi: int = DPI) -> None:
    """Write `fig` to `path` as PNG (atomically, reproducible bytes) and close it: the one way every
    stage writes a matplotlib picture."""
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=dpi, metadata={"Software": None})
    if fig.canvas.manager is not None:  # a pyplot figure (a bare matplotlib Figure has none to close)
        pyplot().close(fig)
