"""Your own files, read by the generic sources (download.<name>.source, docs/own-data.md):

- text_files: one UTF-8 text file, or a folder of them read in name order (char-RNN);
- labeled_text: a CSV/TSV with a text and a label column, or one sub-folder of .txt files per class
  (sentiment model: two classes);
- table_csv: a CSV with a label column; numbers as they are, the `onehot` columns one-hot encoded
  as the course does for `rank` (logistic regression, the perceptron, the tabular MLP);
- photos: a folder of images, picked by file name later (style transfer, filters).

The same functions validate the files in the download stage (so a bad file stops the pipeline
before anything is written or trained) and read them in the preparation stages. Every error names
the file (and the line or column) and the fix. Only the standard library, numpy and PIL: the
download stage imports this module.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable

import numpy as np

from pipeline.core.errors import DataError

TABLE_SUFFIXES = (".csv", ".tsv")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def _visible(paths) -> list[Path]:
    return sorted(p for p in paths if p.is_file() and not p.name.startswith("."))


def read_utf8(path: Path) -> str:
    """A file's text; invalid UTF-8 names the line, an empty file says so."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror}); fix its permissions or remove it") from None
    if not data.strip():
        raise DataError(f"{path}: empty; add text to it or remove it")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line} is not UTF-8 (byte 0x{data[err.start]:02x}); save the file as UTF-8 "
            f"(e.g. iconv -f latin1 -t utf-8 {path.name} > fixed.txt)"
        ) from None


# --- text_files ---------------------------------------------------------------------------------


def text_files(root: Path) -> list[Path]:
    """The files under `root` (hidden ones left out) in name order; a DataError if there are none."""
    files = _visible(root.rglob("*"))
    if not files:
        raise DataError(f"{root}: no text files; put one UTF-8 .txt file (or several, read in name order) there")
    return files


def read_text_files(raw_dir: Path) -> str:
    """Every file under `raw_dir` in name order, joined by a newline (as plain_text joins files)."""
    return "\n".join(read_utf8(p) for p in text_files(raw_dir))


# --- labeled_text and table_csv: one table --------------------------------------------------------


def _one_table(root: Path, key: str) -> Path:
    tables = [p for p in _visible(root.rglob("*")) if p.suffix.lower() in TABLE_SUFFIXES]
    if len(tables) != 1:
        found = ", ".join(p.name for p in tables) or "none"
        raise DataError(f"{root}: expected one .csv or .tsv table, found {found}; keep one table there ({key})")
    return tables[0]


def read_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) of a CSV (TSV when it ends in .tsv); blank lines skipped."""
    text = read_utf8(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        reader = csv.reader(text.splitlines(), delimiter=delimiter, strict=True)
        rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except csv.Error as err:
        raise DataError(f"{path}: line {reader.line_num} is not valid CSV ({err}); fix the quoting") from None
    header, body = [c.strip() for c in rows[0][1]], rows[1:]
    if not body:
        raise DataError(f"{path}: a header but no rows; add rows of data")
    for line, row in body:
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} values, the header {len(header)}; fix that line")
    return header, body


def _column(path: Path, header: list[str], name: str, key: str) -> int:
    if name not in header:
        raise DataError(f"{path}: no column {name!r} (columns: {', '.join(header)}); set {key} to one of them")
    return header.index(name)


def _order(values) -> list[str]:
    """Class or category names, sorted as numbers when they all are numbers (1, 2, 10), else as text."""
    values = set(values)
    try:
        return sorted(values, key=float)
    except ValueError:
        return sorted(values)


def _classes(path: Path, labels: list[str], where: str, binary: bool) -> list[str]:
    classes = _order(labels)
    if len(classes) < 2:
        raise DataError(
            f"{path}: one class only in {where} ({classes[0] if classes else 'none'}); a classifier "
            "needs examples of at least two"
        )
    if binary and len(classes) > 2:
        raise DataError(
            f"{path}: {len(classes)} classes in {where} ({', '.join(classes[:10])}); the sentiment "
            "model is binary (one sigmoid output): keep two classes, or merge them into two"
        )
    return classes


def read_labeled_table(root: Path, text_column: str, label_column: str, key: str):
    """(texts, labels, classes) of the one table in `root`: text and label columns, no cell empty, two classes."""
    path = _one_table(root, key)
    header, body = read_table(path)
    t = _column(path, header, text_column, f"{key}.text_column")
    y = _column(path, header, label_column, f"{key}.label_column")
    for line, row in body:
        for j, name in ((t, text_column), (y, label_column)):
            if not row[j].strip():
                raise DataError(f"{path}: line {line}, column {name!r} is empty; fill it in or remove that row")
    labels = [row[y].strip() for _, row in body]
    classes = _classes(path, labels, f"column {label_column!r}", binary=True)
    return [row[t] for _, row in body], [classes.index(v) for v in labels], classes


def read_labeled_folders(root: Path, key: str):
    """<root>/<class>/*.txt, one example a file; classes in name order."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(
            f"{root}: neither a table nor sub-folders of classes; put one .csv/.tsv there (and set "
            f"{key}.text_column and label_column), or one folder of .txt files per class"
        )
    files = {f.name: _visible(f.rglob("*")) for f in folders}
    classes = _classes(root, [c for c, fs in files.items() if fs], "the class sub-folders", binary=True)
    texts, labels = [], []
    for label, cls in enumerate(classes):
        for path in files[cls]:
            texts.append(read_utf8(path))
            labels.append(label)
    return texts, labels, classes


def read_labeled_text(
    raw_dir: Path, text_column: str | None = None, label_column: str | None = None, key: str = "download.<name>"
):
    """(texts, labels, classes) from a table (columns given) or from class folders."""
    if text_column and label_column:
        return read_labeled_table(raw_dir, text_column, label_column, key)
    return read_labeled_folders(raw_dir, key)


def read_labeled_reviews(raw_dir: Path, text_column: str | None = None, label_column: str | None = None):
    """In the shape the review readers return (pipeline.data.text): {'all': (texts, labels)}."""
    texts, labels, _ = read_labeled_text(raw_dir, text_column, label_column)
    return {"all": (texts, labels)}


def read_table_csv(
    raw_dir: Path, label_column: str, onehot: list[str] | tuple[str, ...] = (), key: str = "download.<name>"
):
    """(float32 features (N, F), int64 labels, feature names, classes): numeric columns as they are,
    each `onehot` column replaced where it stands by one 0/1 column per value (rank -> rank_1..rank_4)."""
    path = _one_table(raw_dir, key)
    header, body = read_table(path)
    y = _column(path, header, label_column, f"{key}.label_column")
    encode = {_column(path, header, c, f"{key}.onehot") for c in onehot}
    if y in encode:
        raise DataError(f"{path}: {label_column!r} is the label column; remove it from {key}.onehot")
    for line, row in body:
        if not row[y].strip():
            raise DataError(
                f"{path}: line {line}, column {label_column!r} is empty; fill in the label or remove that row"
            )
    labels = [row[y].strip() for _, row in body]
    classes = _classes(path, labels, f"column {label_column!r}", binary=False)
    columns, names = [], []
    for j, name in enumerate(header):
        if j == y:
            continue
        cells = [row[j].strip() for _, row in body]
        if j in encode:
            values = _order(cells)
            columns += [[float(c == v) for c in cells] for v in values]
            names += [f"{name}_{v}" for v in values]
            continue
        numbers = []
        for (line, _), cell in zip(body, cells):
            try:
                value = float(cell)
            except ValueError:
                value = float("nan")
            if not np.isfinite(value):
                raise DataError(
                    f"{path}: line {line}, column {name!r}: {cell!r} is not a finite number; fix it, or "
                    f"add {name!r} to {key}.onehot if it is a category"
                )
            numbers.append(value)
        columns.append(numbers)
        names.append(name)
    if not columns:
        raise DataError(f"{path}: no feature columns besides {label_column!r}; add some")
    features = np.array(columns, dtype=np.float64).T.astype(np.float32)
    return features, np.array([classes.index(v) for v in labels], np.int64), tuple(names), classes


# --- photos ---------------------------------------------------------------------------------------


def check_photos(root: Path) -> list[str]:
    """Every image under `root` opens and decodes; returns their names. Other files are ignored."""
    from PIL import Image

    photos = [p for p in _visible(root.rglob("*")) if p.suffix.lower() in PHOTO_SUFFIXES]
    if not photos:
        raise DataError(f"{root}: no images ({', '.join(PHOTO_SUFFIXES)}); put your photos there")
    for path in photos:
        try:
            with Image.open(path) as img:
                img.load()
        except Exception as err:  # noqa: BLE001 - PIL's decoders raise many types; any of them means the same here
            reason = (str(err).splitlines() or [type(err).__name__])[0]
            raise DataError(f"{path}: not a readable image ({reason}); replace it or remove it") from None
    return [str(p.relative_to(root)) for p in photos]


# --- the download stage's check ----------------------------------------------------------------


def _no_classes(read: Callable[[Path], object]) -> Callable[[Path, str, dict], list[str]]:
    def check(root: Path, key: str, options: dict) -> list[str]:
        read(root)
        return []

    return check


# generic source -> its check: (root, download key, options) -> the class names the files define
VALIDATORS: dict[str, Callable[[Path, str, dict], list[str]]] = {
    "text_files": _no_classes(read_text_files),
    "labeled_text": lambda root, key, o: read_labeled_text(root, o.get("text_column"), o.get("label_column"), key)[2],
    "table_csv": lambda root, key, o: read_table_csv(root, o["label_column"], o.get("onehot", ()), key)[3],
    "photos": _no_classes(check_photos),
}


def validate(generic: str, root: Path, dataset: str, options: dict) -> list[str]:
    """Read the files of your own dataset as the later stages will; raise at the first problem.
    Returns the class names the files define ([] when they define none)."""
    return VALIDATORS[generic](Path(root), f"download.{dataset}", options)
