"""The report page's pictures: PNG files inlined as data URIs (their bytes as written, never
re-encoded), and learning curves drawn from their CSV files with matplotlib."""

from __future__ import annotations

import base64
import csv
import io
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pipeline.core.errors import DataError
from pipeline.inspection.figures import DPI, pyplot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SMALL = 320  # pictures narrower than this (pixels) are shown enlarged, by a whole factor
SHOWN = 512  # ...to about this width: a 128-pixel stylized photo is drawn at 512
WIDE = 900  # pictures at least this wide take a row of their own
# Curves whose columns differ by more than this factor share a logarithmic axis (style: content vs total).
LOG_RANGE = 100.0


@dataclass(frozen=True)
class Picture:
    caption: str
    alt: str
    uri: str  # data:image/png;base64,...
    width: int  # as shown, in CSS pixels
    height: int

    @property
    def wide(self) -> bool:
        """Shown across the page rather than beside another picture."""
        return self.width >= WIDE


def png_size(data: bytes, source: str) -> tuple[int, int]:
    """Width and height from a PNG's header; a DataError naming `source` if it is no PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise DataError(f"{source} is not a PNG file; rerun the stage that writes it")
    return struct.unpack(">II", data[16:24])


def picture(data: bytes, source: str, caption: str, alt: str) -> Picture:
    """A PNG as a data URI, with the size it is shown at (small ones enlarged, so that a person sees them)."""
    width, height = png_size(data, source)
    scale = math.ceil(SHOWN / width) if width < SMALL else 1
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return Picture(caption, alt, uri, width * scale, height * scale)


def read_curve(path: Path) -> tuple[str, list[float], dict[str, list[float]]]:
    """A curve CSV (x column first, one column per series): the x name, x values and each series."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        header, body = rows[0], [[float(v) for v in row] for row in rows[1:] if row]
        if len(header) < 2 or not body or any(len(row) != len(header) for row in body):
            raise ValueError("expected a header and rows of numbers of the same width")
    except (IndexError, ValueError) as err:
        raise DataError(f"{path} is not a curve CSV ({err}); rerun the stage that writes it") from None
    columns = list(zip(*body))
    return header[0], list(columns[0]), {name: list(col) for name, col in zip(header[1:], columns[1:])}


def draw_curves(curves: Sequence[tuple[Path, str]], title: str, best: float | None = None) -> bytes:
    """One panel per (CSV, what it holds), side by side, as PNG bytes; `best` (an x value, the kept
    epoch) is marked."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    width, height = 5.0 * len(curves), 3.4  # inches
    fig, axes = plt.subplots(1, len(curves), figsize=(width, height), squeeze=False)
    # Fixed margins, in inches (a layout engine would draw every figure twice: the stage's slowest part).
    fig.subplots_adjust(left=0.8 / width, right=1 - 0.2 / width, bottom=0.55 / height, top=1 - 0.7 / height, wspace=0.3)
    for ax, (path, what) in zip(axes[0], curves):
        x_name, xs, series = read_curve(path)
        for name, ys in series.items():
            ax.plot(xs, ys, label=name, linewidth=1.6, marker="o" if len(xs) <= 12 else None, markersize=3)
        positive = [y for ys in series.values() for y in ys if y > 0]
        if len(positive) == sum(map(len, series.values())) and max(positive) / min(positive) > LOG_RANGE:
            ax.set_yscale("log")
        if best is not None and xs[0] <= best <= xs[-1]:
            ax.axvline(best, color="0.45", linestyle=":", linewidth=1.2, label=f"kept ({x_name} {best:g})")
        ax.set(xlabel=x_name, ylabel=what, title=f"{what} per {x_name}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=11, y=1 - 0.08 / height, va="top")
    buf = io.BytesIO()
    # As pipeline.inspection.figures.save_png writes files: Agg, fixed dpi, no software tag, so the bytes repeat.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
