"""Parsers for the table formats (CSV files of feature rows): the course's breast-cancer,
admissions and points files, and any table of your own (`table_csv`). Each returns its rows as
float32 features and int64 labels under "all"; normalize splits them. `Arrays`, what every
parser returns, is defined here."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.core.errors import DataError, one_line
from pipeline.data.integrity import refetch
from pipeline.data.own import read_table_csv


# What every parser returns, the image formats' too (pipeline.data.formats)
@dataclass(frozen=True)
class Arrays:
    inputs: np.ndarray  # uint8 (N, C, H, W) images or float32 (N, F) features
    labels: np.ndarray  # int64 (N,)
    classes: tuple[str, ...] = ()  # set when the files name the classes (image folders)
    features: tuple[str, ...] = field(default=())  # column names of a table

    def __post_init__(self) -> None:
        if self.inputs.ndim < 2:
            raise ValueError(f"inputs must have a sample axis and features, got shape {self.inputs.shape}")
        if self.labels.shape != (len(self.inputs),):
            raise ValueError(f"{len(self.inputs)} samples but labels of shape {self.labels.shape}")


# --- scikit-learn digits: gzipped CSV, 64 pixel values in 0..16 then the label ---------------


BREAST_CANCER_FEATURES = tuple(
    f"{stat} {name}" if stat != "error" else f"{name} error"
    for stat in ("mean", "error", "worst")
    for name in (
        "radius",
        "texture",
        "perimeter",
        "area",
        "smoothness",
        "compactness",
        "concavity",
        "concave points",
        "symmetry",
        "fractal dimension",
    )
)


def _rows(path: Path) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [row for row in csv.reader(fh) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{path}: not a readable UTF-8 CSV ({one_line(err)}); {refetch(path)}") from None
    if not rows:
        raise DataError(f"{path}: empty, no rows; {refetch(path)}")
    return rows


def _numbers(rows: list[list[str]], path: Path, width: int, first: int = 1) -> np.ndarray:
    """Rows of `width` finite numbers; `first` is the line number of rows[0], for the message."""
    if not rows:
        raise DataError(f"{path}: a header but no rows of data; {refetch(path)}")
    for line, row in enumerate(rows, first):
        if len(row) != width:
            raise DataError(f"{path}: line {line} has {len(row)} values, expected {width}; {refetch(path)}")
        try:
            values = [float(v) for v in row]
        except ValueError:
            raise DataError(f"{path}: a value is not a number on line {line}: {row}; {refetch(path)}") from None
        if not all(math.isfinite(v) for v in values):
            raise DataError(f"{path}: line {line} has a NaN or infinite value: {row}; {refetch(path)}")
    return np.array(rows, dtype=np.float64)


def parse_breast_cancer_csv(raw_dir: Path, size: int | None = None) -> dict[str, Arrays]:
    """scikit-learn's file: a header row (569,30,malignant,benign), then 30 features and a target
    where 0 is malignant. Relabelled so that malignant, the finding to detect, is class 1."""
    path = raw_dir / "breast_cancer.csv"
    table = _numbers(_rows(path)[1:], path, 31, first=2)
    labels = (table[:, 30] == 0).astype(np.int64)
    return {"all": Arrays(table[:, :30].astype(np.float32), labels, features=BREAST_CANCER_FEATURES)}


def parse_admissions_csv(raw_dir: Path, size: int | None = None) -> dict[str, Arrays]:
    """The course's admit,gre,gpa,rank table; rank (1-4) one-hot encoded, as the course does."""
    path = raw_dir / "student_data.csv"
    rows = _rows(path)
    if rows[0] != ["admit", "gre", "gpa", "rank"]:
        raise DataError(f"{path}: expected the header admit,gre,gpa,rank, got {rows[0]}; {refetch(path)}")
    table = _numbers(rows[1:], path, 4, first=2)
    rank = table[:, 3].astype(int)
    bad = sorted(set(rank.tolist()) - {1, 2, 3, 4})
    if bad:
        raise DataError(f"{path}: rank must be 1-4, got {bad}")
    features = np.column_stack([table[:, 1], table[:, 2], *[(rank == r) for r in (1, 2, 3, 4)]])
    return {
        "all": Arrays(
            features.astype(np.float32),
            table[:, 0].astype(np.int64),
            features=("gre", "gpa", "rank_1", "rank_2", "rank_3", "rank_4"),
        )
    }


def parse_points_csv(raw_dir: Path, size: int | None = None) -> dict[str, Arrays]:
    """The course's perceptron data: x1, x2, label; no header."""
    path = raw_dir / "data.csv"
    table = _numbers(_rows(path), path, 3)
    return {"all": Arrays(table[:, :2].astype(np.float32), table[:, 2].astype(np.int64), features=("x1", "x2"))}


def parse_table_csv(raw_dir: Path, size: int | None = None, label_column: str = "", onehot=()) -> dict[str, Arrays]:
    """Your own table (generic source table_csv): the label column named in params, numbers as
    they are, the `onehot` columns one-hot encoded (pipeline.data.own)."""
    features, labels, names, _ = read_table_csv(raw_dir, label_column, onehot)
    return {"all": Arrays(features, labels, features=names)}
