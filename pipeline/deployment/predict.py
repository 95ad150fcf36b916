"""`predict exports/<model> FILE...`: an exported model on your own files, from its export folder
alone. Images (PNG, JPEG...) for the image classifiers, CSV tables for the tabular ones, text
files or --text for the review classifier, and generated text (--prime) for the character model.
One line per input, or JSON with --json. Bad input: one line on stderr and exit status 2.

It starts fast: with model.onnx it runs on ONNX Runtime and never imports torch, so keep this
module's imports (and theirs) free of torch."""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from pipeline.core.errors import DataError, ExportFolderError, PipelineError
from pipeline.data.imageprep import resize_crop
from pipeline.data.words import tokenize
from pipeline.deployment.exported import DEVICES, RUNTIMES, Export, generate, open_model, read_export

BATCH = 64  # inputs per model call: bounds memory for many large images
UNKNOWN_WORD, PAD = 1, 0  # as pipeline.data.text encodes reviews


def _check_file(path: Path) -> Path:
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; pass the files in it (e.g. {path}/*)")
    return path


# --- inputs, by kind of model ------------------------------------------------------------------


def image_prepare(meta: dict[str, Any]) -> tuple[str, tuple[int, int]]:
    """(mode, (height, width)) the model's images are made with: input.prepare, or the input shape."""
    prepare = meta["input"].get("prepare")
    if prepare:
        size = prepare["size"]
        return prepare["mode"], ((size, size) if isinstance(size, int) else tuple(size))
    _, channels, height, width = meta["input"]["shape"]
    return ("L" if channels == 1 else "RGB"), (height, width)


def read_image(path: Path, mode: str, size: tuple[int, int]) -> np.ndarray:
    """float32 (channels, height, width) in [0, 1], made as the training images were."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(_check_file(path)) as img:
            pixels = resize_crop(img, mode, size)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as err:
        raise DataError(f"{path}: not a readable image ({err}); pass a PNG or JPEG file") from None
    return pixels.astype(np.float32) / np.float32(255)


def image_batches(meta: dict[str, Any], files: list[Path]) -> Iterator[tuple[list[dict], np.ndarray]]:
    """(labels, float32 images (B, C, H, W)) in batches of BATCH; every file checked before the first is decoded."""
    mode, size = image_prepare(meta)
    for path in files:
        _check_file(path)  # every file checked before the first is decoded
    for start in range(0, len(files), BATCH):
        chunk = files[start : start + BATCH]
        yield [{"input": str(p)} for p in chunk], np.stack([read_image(p, mode, size) for p in chunk])


def read_table(path: Path, features: list[str]) -> tuple[list[dict], np.ndarray]:
    """The rows of a CSV with a header naming (at least) the model's features, in any order."""
    try:
        with open(_check_file(path), newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = [name.strip() for name in next(reader, [])]
            missing = [name for name in features if name not in header]
            if missing:
                more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
                raise DataError(
                    f"{path}: missing column(s) {', '.join(map(repr, missing[:3]))}{more}; the header "
                    f"must name the model's {len(features)} features (input.features in its metadata.json)"
                )
            columns = [header.index(name) for name in features]
            labels, rows = [], []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                labels.append({"input": str(path), "line": reader.line_num})
                rows.append(_numbers(row, columns, features, f"{path}:{reader.line_num}"))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{path}: not a readable CSV file ({err})") from None
    if not rows:
        raise DataError(f"{path}: no rows under the header")
    return labels, np.array(rows, np.float32)


def _numbers(row: list[str], columns: list[int], features: list[str], where: str) -> list[float]:
    values = []
    for name, col in zip(features, columns):
        cell = row[col].strip() if col < len(row) else ""
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise DataError(f"{where}: column {name!r} holds {cell!r}, not a number; give every feature a value")
        values.append(value)
    return values


def table_batches(meta: dict[str, Any], files: list[Path]) -> Iterator[tuple[list[dict], np.ndarray]]:
    """(labels with file and line, float32 rows (B, F) of the model's features) in batches, file by file."""
    for path in files:
        labels, rows = read_table(path, meta["input"]["features"])
        for start in range(0, len(rows), BATCH):
            yield labels[start : start + BATCH], rows[start : start + BATCH]


def encode_text(text: str, index: dict[str, int], seq_length: int, where: str) -> tuple[np.ndarray, int, int]:
    """Word codes as the reviews were encoded: word i of the vocabulary is i + 2, 1 an unknown word,
    left-padded with 0, the first seq_length words kept. Returns (codes, words, unknown words)."""
    words = tokenize(text)
    if not words:
        raise DataError(f"{where}: no words in it; pass a review with some words")
    codes = [index.get(w, UNKNOWN_WORD) for w in words[:seq_length]]
    row = np.full(seq_length, PAD, np.int64)
    row[-len(codes) :] = codes
    return row, len(words), sum(w not in index for w in words)


def text_batches(meta: dict[str, Any], files: list[Path], texts: list[str]) -> Iterator[tuple[list[dict], np.ndarray]]:
    """(labels with word counts, int64 codes (B, seq_length)) in batches: the files, then each --text.
    A file that is not UTF-8 text: DataError."""
    index = {w: i + 2 for i, w in enumerate(meta["input"]["vocabulary"])}
    seq_length = meta["input"]["shape"][1]
    items = []
    for path in files:
        try:
            items.append(({"input": str(path)}, _check_file(path).read_text(encoding="utf-8"), str(path)))
        except (OSError, UnicodeDecodeError) as err:
            raise DataError(f"{path}: not a readable UTF-8 text file ({err})") from None
    items += [({"text": text}, text, f"--text {text!r}") for text in texts]
    labels, rows = [], []
    for label, text, where in items:
        row, words, unknown = encode_text(text, index, seq_length, where)
        labels.append(label | {"words": words, "unknown_words": unknown})
        rows.append(row)
    for start in range(0, len(rows), BATCH):
        yield labels[start : start + BATCH], np.stack(rows[start : start + BATCH])


# --- outputs -----------------------------------------------------------------------------------


def classify(meta: dict[str, Any], logits: np.ndarray, top_k: int) -> list[dict]:
    """Per input: the class, and the top_k classes with probabilities (softmax), or both classes
    (sigmoid of a binary score), or only the class and score (a perceptron's score is no probability)."""
    classes = meta["classes"]
    logits = logits.astype(np.float64)
    if logits.ndim == 1:  # binary: a score for classes[1]
        if "sigmoid" not in meta["output"].get("meaning", ""):
            return [{"class": classes[int(s > 0)], "score": float(s)} for s in logits]
        out = []
        for s in logits:
            p1 = 0.5 * (1.0 + math.tanh(s / 2))  # sigmoid, without overflow
            top = sorted([(classes[1], p1), (classes[0], 1.0 - p1)], key=lambda cp: -cp[1])
            out.append({"class": top[0][0], "score": float(s), "top": [{"class": c, "probability": p} for c, p in top]})
        return out
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    order = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]
    return [
        {"class": classes[row[0]], "top": [{"class": classes[i], "probability": float(p[i])} for i in row]}
        for p, row in zip(probs, order)
    ]


def predict(
    folder: str | Path,
    files: list[str | Path] = (),
    *,
    texts: list[str] = (),
    top_k: int | None = None,
    runtime: str = "auto",
    device: str = "auto",
    prime: str | None = None,
    length: int = 300,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the export in `folder` on the inputs; the result as --json prints it."""
    export = read_export(folder)
    files, texts = [Path(f) for f in files], list(texts)
    _check_inputs(export, files, texts, prime)
    model = open_model(export, runtime, device)
    result: dict[str, Any] = {"model": export.meta.get("model"), "runtime": model.runtime, "device": model.device}
    if export.kind == "charrnn":
        prime, top_k = ("The " if prime is None else prime), top_k or 5
        text = generate(model, export.meta, prime, length, top_k, seed)
        return result | {
            "predictions": [{"prime": prime, "length": length, "top_k": top_k, "seed": seed, "text": text}]
        }
    batches = {
        "image": lambda: image_batches(export.meta, files),
        "tabular": lambda: table_batches(export.meta, files),
        "sentiment": lambda: text_batches(export.meta, files, texts),
    }[export.kind]
    predictions = []
    for labels, inputs in batches():
        outputs = classify(export.meta, model(inputs)[0], top_k or 3)
        predictions += [label | out for label, out in zip(labels, outputs, strict=True)]
    return result | {"predictions": predictions}


def _check_inputs(export: Export, files: list[Path], texts: list[str], prime: str | None) -> None:
    kind, folder = export.kind, export.folder
    if kind == "charrnn" and files:
        raise ExportFolderError(f"{folder} generates text from --prime; it takes no FILE")
    if kind != "charrnn" and prime is not None:
        raise ExportFolderError(f"--prime is for a character model; {folder} classifies {_WHAT[kind]}")
    if kind != "sentiment" and texts:
        raise ExportFolderError(f"--text is for a review model; {folder} classifies {_WHAT[kind]}")
    if kind != "charrnn" and not files and not texts:
        raise ExportFolderError(f"nothing to classify: pass {_WHAT[kind]} after {folder}")


_WHAT = {
    "image": "images (PNG, JPEG...)",
    "tabular": "CSV files with a header row",
    "sentiment": 'text files (or --text "...")',
}


def format_line(p: dict[str, Any]) -> str:
    """One prediction as predict prints it: generated text as it is, else the input and the classes found."""
    if "text" in p and "prime" in p:
        return p["text"]
    where = f"{p['input']}:{p['line']}" if "line" in p else p.get("input") or _shorten(p["text"])
    found = (
        ", ".join(f"{t['class']} ({t['probability']:.2f})" for t in p["top"])
        if "top" in p
        else f"{p['class']} (score {p['score']:.3g})"
    )
    if p.get("unknown_words"):
        found += f"; {p['unknown_words']} of {p['words']} words unknown to the model"
    return f"{where}: {found}"


def _shorten(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return json.dumps(text if len(text) <= width else text[: width - 3].rstrip() + "...")


def parser() -> argparse.ArgumentParser:
    """predict's command line."""
    ap = argparse.ArgumentParser(
        prog="predict",
        description=__doc__.split("\n\n")[0],
        epilog="Examples: predict exports/cnn photo.jpg | predict exports/logreg rows.csv | "
        "predict exports/sentiment --text 'a wonderful film' | predict exports/charrnn --prime 'The ' "
        "(docs/predict.md)",
    )
    ap.add_argument("export", help="an export folder, e.g. exports/cnn (metadata.json and model.onnx or model.ts)")
    ap.add_argument("files", nargs="*", metavar="FILE", help="images, CSV files or text files, by model")
    ap.add_argument("--top-k", type=_positive, help="classes to show (default 3); characters to draw from (default 5)")
    ap.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
    ap.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="auto",
        help="onnx: ONNX Runtime, fast to start, no torch; torch: model.ts; auto (default): onnx "
        "when model.onnx is there (and the device is not cuda without ONNX Runtime's GPU build)",
    )
    ap.add_argument("--device", choices=DEVICES, default="auto", help="auto (default): a GPU when the runtime has one")
    ap.add_argument("--text", action="append", default=[], help="a review to classify (repeatable)")
    gen = ap.add_argument_group("character model (exports/charrnn)")
    gen.add_argument("--prime", help="text to start from (default 'The ')")
    gen.add_argument("--length", type=_natural, default=300, help="characters to generate (default 300)")
    gen.add_argument(
        "--seed",
        type=_natural,
        default=0,
        help="random seed (default 0). The same seed gives the same text as the pipeline's own "
        "sampler (reports/charrnn/samples.txt) only with --runtime torch; ONNX Runtime draws "
        "with numpy's generator, so its text differs (still the same from run to run)",
    )
    return ap


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


def _natural(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    """`predict EXPORT [FILE...]`: one line per prediction (JSON with --json); bad input exits with status 2."""
    ap = parser()
    args = ap.parse_args(argv)
    try:
        result = predict(
            args.export,
            args.files,
            texts=args.text,
            top_k=args.top_k,
            runtime=args.runtime,
            device=args.device,
            prime=args.prime,
            length=args.length,
            seed=args.seed,
        )
    except PipelineError as err:
        ap.exit(2, f"predict: error: {err}\n")
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    try:
        if args.json:
            print(json.dumps(result, indent=1))
        else:
            for p in result["predictions"]:
                print(format_line(p))
        sys.stdout.flush()
    except BrokenPipeError:  # `predict ... | head`: the reader has what it wanted
        sys.stdout = None


if __name__ == "__main__":
    main()
