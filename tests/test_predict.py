"""`predict`: the exported models on real files, from a copy of an export folder alone, through
ONNX Runtime (no torch imported) and through torch (model.ts) with the same answers; the
character model's torch path draws the pipeline's own samples; bad input is one line and exit 2.

The exports are those of the shrunk pipeline's real run (tests/conftest.py `reproduced`), copied
into a temporary folder; answers are compared with the eager model of the same run, fed the
pipeline's own encoding of the same inputs."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pipeline.core.errors import DataError, PipelineError
from pipeline.deployment.predict import (
    encode_text,
    format_line,
    image_prepare,
    predict,
    read_image,
)
from pipeline.weights.checkpoint import load_checkpoint
from tests.conftest import COURSE_FILES, ROOT

# Most tests here read the shrunk pipeline's real exports (`reproduced`, its full run): slow.
pytestmark = pytest.mark.slow

PREDICT = Path(sys.executable).parent / "predict"  # the console script `make setup` installs
PHOTOS = ("cat.70.jpg", "dog.128.jpg", "octopus.jpg", "hockney.jpg")


def edit_meta(folder: Path, change) -> None:
    meta = json.loads((folder / "metadata.json").read_text())
    change(meta)
    (folder / "metadata.json").write_text(json.dumps(meta))


def drop_onnx(folder: Path) -> Path:
    """The export as written before there was an ONNX format."""
    (folder / "model.onnx").unlink(missing_ok=True)
    edit_meta(folder, lambda m: m["export"]["formats"].pop("onnx", None))
    return folder


@pytest.fixture(scope="module")
def checkpoints(reproduced) -> dict[str, Path]:
    """The eager models the exports were made from."""
    return {
        name: reproduced[0].path / "models" / name / "model.pt"
        for name in ("cnn", "logreg", "perceptron", "sentiment", "charrnn")
    }


@pytest.fixture(scope="module")
def exports(reproduced, tmp_path_factory) -> dict[str, Path]:
    """Copies of the run's exports; the perceptron's without its model.onnx (the torch path)."""
    root = tmp_path_factory.mktemp("exports")
    out = {
        name: Path(shutil.copytree(reproduced[0].path / "exports" / name, root / name))
        for name in ("cnn", "logreg", "perceptron", "sentiment", "charrnn")
    }
    drop_onnx(out["perceptron"])
    return out


@pytest.fixture(scope="module")
def photos() -> list[Path]:
    return [COURSE_FILES / name for name in PHOTOS]


def run_predict(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PREDICT), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | (env or {}),
        timeout=120,
    )


def tops(result: dict) -> list[list[tuple[str, float]]]:
    return [[(t["class"], t["probability"]) for t in p["top"]] for p in result["predictions"]]


def assert_same_answers(a: dict, b: dict, atol: float = 1e-5) -> None:
    """The same top class for every input, and the same probabilities within atol."""
    assert len(a["predictions"]) == len(b["predictions"])
    for x, y in zip(tops(a), tops(b)):
        assert x[0][0] == y[0][0]
        assert dict(y) == pytest.approx(dict(x), abs=atol)


# --- the shared preprocessing ---------------------------------------------------------------------


def old_decode_image(data: bytes, size: int) -> np.ndarray:
    """formats.decode_image before its resize and crop moved to pipeline.data.imageprep."""
    with Image.open(io.BytesIO(data)) as img:
        img = img.convert("RGB")
        w, h = img.size
        scale = size / min(w, h)
        img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BILINEAR)
        w, h = img.size
        left, top = (w - size) // 2, (h - size) // 2
        img = img.crop((left, top, left + size, top + size))
        return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)


def test_decode_image_gives_the_same_bytes_as_before(photos):
    from pipeline.data.formats import decode_image

    rng = np.random.default_rng(0)
    odd = []
    for w, h in ((37, 91), (300, 7), (8, 8), (9, 8)):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(buf, "PNG")
        odd.append(buf.getvalue())
    for data in [p.read_bytes() for p in photos] + odd:
        for size in (8, 32, 224):
            assert np.array_equal(decode_image(data, "x", size), old_decode_image(data, size))


def test_tokenize_lives_in_words_and_text_still_exports_it():
    from pipeline.data import text, words

    assert text.tokenize is words.tokenize
    assert words.tokenize("Not BAD, at all!  <br />Truly...") == ["not", "bad", "at", "all", "br", "truly"]


def test_review_codes_are_the_training_encoding():
    from pipeline.data.text import pad_features, tokenize

    vocab = ["the", "film", "was", "good", "bad"]
    index = {w: i + 2 for i, w in enumerate(vocab)}
    for text in ("The film was GOOD!", "an unknown word, then the film", " ".join(["bad"] * 9 + ["good"] * 5)):
        codes, words, unknown = encode_text(text, index, 8, "x")
        assert codes.tolist() == pad_features([tokenize(text)], index, 8)[0].tolist()
        assert words == len(tokenize(text)) and unknown == sum(w not in index for w in tokenize(text))
    with pytest.raises(DataError, match="x: no words"):
        encode_text(" ... !!! ", index, 8, "x")


# --- image classifiers --------------------------------------------------------------------------


def png(path: Path, mode: str, size: tuple[int, int]) -> Path:
    rng = np.random.default_rng(len(mode))
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    (img.convert("P", palette=Image.Palette.ADAPTIVE) if mode == "P" else img.convert(mode)).save(path)
    return path


def test_images_give_the_same_answer_with_onnx_runtime_and_torch(exports, photos, tmp_path):
    files = photos + [png(tmp_path / f"{mode}.png", mode, (13, 29)) for mode in ("P", "RGBA", "L")]
    by_onnx = predict(exports["cnn"], files, runtime="onnx", top_k=10)
    by_torch = predict(exports["cnn"], files, runtime="torch", device="cpu", top_k=10)
    assert (by_onnx["runtime"], by_torch["runtime"]) == ("onnx", "torch")
    assert [p["input"] for p in by_onnx["predictions"]] == [str(f) for f in files]
    assert_same_answers(by_onnx, by_torch)
    assert all(sum(p for _, p in top) == pytest.approx(1.0) for top in tops(by_onnx))
    assert len(predict(exports["cnn"], files[:1])["predictions"][0]["top"]) == 3  # default top-k


def test_digits_as_png_files_get_the_eager_models_answers_on_the_pipelines_pixels(exports, checkpoints, tmp_path):
    """The digits the models learned from, as 8x8 greyscale PNGs (ink 0..16 onto 0..255, as the
    pipeline stores them): predict prepares them exactly as the pipeline did, so it gives the
    eager model's probabilities for the stored pixels."""
    from sklearn.datasets import load_digits

    from pipeline.models import predict as eager_outputs

    pixels = np.rint(load_digits().images[:1000:50] * (255 / 16)).astype(np.uint8)
    files = []
    for i, image in enumerate(pixels):
        Image.fromarray(image, "L").save(tmp_path / f"{i}.png")
        files.append(tmp_path / f"{i}.png")
    model, _ = load_checkpoint(checkpoints["cnn"])
    expected = eager_outputs(model, torch.from_numpy(pixels[:, None]), 64).softmax(1)
    result = predict(exports["cnn"], files, top_k=10)
    for p, probs in zip(result["predictions"], expected):
        assert p["class"] == str(probs.argmax().item())
        assert {t["class"]: t["probability"] for t in p["top"]} == pytest.approx(
            {str(c): probs[c].item() for c in range(10)}, abs=1e-5
        )


def test_prepare_comes_from_metadata_or_from_the_input_shape(exports, photos):
    meta = json.loads((exports["cnn"] / "metadata.json").read_text())
    assert image_prepare(meta) == ("L", (8, 8))
    del meta["input"]["prepare"]
    assert image_prepare(meta) == ("L", (8, 8))
    meta["input"]["shape"] = ["batch", 3, 24, 32]
    assert image_prepare(meta) == ("RGB", (24, 32))
    pixels = read_image(photos[0], "RGB", (24, 32))
    assert pixels.shape == (3, 24, 32) and pixels.dtype == np.float32 and 0 <= pixels.min() <= pixels.max() <= 1


def test_plain_output_is_one_line_per_input(exports, photos):
    result = predict(exports["cnn"], photos[:2])
    lines = [format_line(p) for p in result["predictions"]]
    for line, photo in zip(lines, photos):
        assert re.fullmatch(re.escape(str(photo)) + r": \d \(\d\.\d\d\), \d \(\d\.\d\d\), \d \(\d\.\d\d\)", line)


# --- tables, reviews, text ----------------------------------------------------------------------


def breast_cancer_csv(path: Path, features: list[str], rows: int = 6) -> tuple[Path, np.ndarray]:
    """Real rows, columns reversed, with an extra id column: order and extras do not matter."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer().data[:rows].astype(np.float32)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", *features[::-1]])
        writer.writerows([f"patient {i}", *map(repr, row[::-1].tolist())] for i, row in enumerate(data))
    return path, data


def test_tabular_rows_match_the_eager_model(exports, checkpoints, tmp_path):
    meta = json.loads((exports["logreg"] / "metadata.json").read_text())
    path, data = breast_cancer_csv(tmp_path / "rows.csv", meta["input"]["features"])
    eager, _ = load_checkpoint(checkpoints["logreg"])
    with torch.no_grad():
        expected = torch.sigmoid(eager(torch.from_numpy(data))).numpy()
    result = predict(exports["logreg"], [path])
    assert [p["line"] for p in result["predictions"]] == [2, 3, 4, 5, 6, 7]
    for p, p1 in zip(result["predictions"], expected):
        probs = {t["class"]: t["probability"] for t in p["top"]}
        assert probs == pytest.approx({"malignant": p1, "benign": 1 - p1}, abs=1e-4)
    first = "malignant" if expected[0] > 0.5 else "benign"
    assert format_line(result["predictions"][0]).startswith(f"{path}:2: {first} (")
    # the perceptron's score is no probability: its class and score only
    perceptron = predict(exports["perceptron"], [path])
    assert perceptron["runtime"] == "torch"
    assert all(set(p) == {"input", "line", "class", "score"} for p in perceptron["predictions"])


def test_a_table_with_wrong_columns_or_values_names_them(exports, tmp_path):
    meta = json.loads((exports["logreg"] / "metadata.json").read_text())
    path, _ = breast_cancer_csv(tmp_path / "rows.csv", meta["input"]["features"])
    text = path.read_text()
    header, rest = text.split("\n", 1)
    (tmp_path / "missing.csv").write_text(header.replace("mean radius", "radius") + "\n" + rest)
    with pytest.raises(DataError, match=r"missing.csv: missing column\(s\) 'mean radius'; the header"):
        predict(exports["logreg"], [tmp_path / "missing.csv"])
    lines = text.splitlines()
    lines[3] = lines[3].replace(",", ",oops,", 1).rsplit(",", 1)[0]
    (tmp_path / "bad.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"bad.csv:4: column 'worst fractal dimension' holds 'oops', not a number"):
        predict(exports["logreg"], [tmp_path / "bad.csv"])


def test_reviews_from_files_and_text_agree_with_the_eager_model(exports, checkpoints, tmp_path):
    from pipeline.data.text import pad_features, tokenize

    good = "Honestly the cast was superb and the ending was moving. Definitely worth a ticket!"
    bad = "The plot was predictable, the acting was flat; I would not recommend it."
    (tmp_path / "review.txt").write_text(good)
    meta = json.loads((exports["sentiment"] / "metadata.json").read_text())
    index = {w: i + 2 for i, w in enumerate(meta["input"]["vocabulary"])}
    eager, _ = load_checkpoint(checkpoints["sentiment"])
    with torch.no_grad():  # the pipeline's own encoding (encode_reviews) into the eager model
        positive = torch.sigmoid(
            eager.eval()(
                pad_features([tokenize(t) for t in (good, bad, "zebra quokka")], index, meta["input"]["shape"][1])
            )
        ).tolist()
    results = [
        predict(exports["sentiment"], [tmp_path / "review.txt"], texts=[bad, "zebra quokka"], runtime=r)
        for r in ("onnx", "torch")
    ]
    for result in results:
        for p, p1 in zip(result["predictions"], positive):
            assert p["class"] == ("positive" if p1 > 0.5 else "negative")
            assert {t["class"]: t["probability"] for t in p["top"]} == pytest.approx(
                {"positive": p1, "negative": 1 - p1}, abs=1e-5
            )
        assert result["predictions"][2]["unknown_words"] == 2
    assert_same_answers(*results)
    assert format_line(results[0]["predictions"][1]).startswith('"The plot was predictable, the acting...": ')


def test_charrnn_with_torch_draws_the_pipelines_own_sample(exports, checkpoints):
    from pipeline.models.charrnn import sample

    model, ckpt = load_checkpoint(checkpoints["charrnn"])
    expected = sample(model, ckpt["spec"]["chars"], "The ", 120, 5, torch.Generator().manual_seed(7))
    result = predict(exports["charrnn"], prime="The ", length=120, top_k=5, seed=7, runtime="torch")
    assert result["predictions"][0]["text"] == expected


def test_charrnn_with_onnx_runtime_is_seeded(exports):
    texts = [
        predict(exports["charrnn"], prime="def ", length=80, seed=s, runtime="onnx")["predictions"][0]["text"]
        for s in (1, 1, 2)
    ]
    vocabulary = set(json.loads((exports["charrnn"] / "metadata.json").read_text())["vocabulary"])
    assert texts[0] == texts[1] != texts[2]
    assert all(len(t) == 84 and t.startswith("def ") and set(t) <= vocabulary for t in texts)
    with pytest.raises(PipelineError, match=r"--prime 'Ж': characters the model's vocabulary lacks: \['Ж'\]"):
        predict(exports["charrnn"], prime="Ж")


# --- export folders -----------------------------------------------------------------------------


def test_a_failed_or_missing_onnx_export_falls_back_to_torchscript(exports, photos, tmp_path):
    folder = shutil.copytree(exports["cnn"], tmp_path / "cnn")
    # model.onnx is left behind: stale, not used
    edit_meta(folder, lambda m: m["export"]["formats"].update(onnx={"error": "TorchExportError: unsupported"}))
    assert predict(folder, photos[:1])["runtime"] == "torch"
    with pytest.raises(PipelineError, match="no usable model.onnx .the exporter failed: TorchExportError"):
        predict(folder, photos[:1], runtime="onnx")
    edit_meta(folder, lambda m: m["export"]["formats"].pop("onnx"))  # an export from before ONNX
    assert predict(folder, photos[:1])["runtime"] == "torch"
    (folder / "model.ts").unlink()
    with pytest.raises(PipelineError, match="no model file"):
        predict(folder, photos[:1])


# --- the console script -------------------------------------------------------------------------


def test_the_console_script_answers_from_onnx_without_importing_torch(exports, photos):
    proc = run_predict(exports["cnn"], photos[0], "--json", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0, proc.stderr
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "onnxruntime" in imported and not {m for m in imported if m.split(".")[0] == "torch"}
    result = json.loads(proc.stdout)
    assert result["runtime"] == "onnx" and result["predictions"][0]["input"] == str(photos[0])


@pytest.mark.parametrize(
    "case",
    ["missing file", "not an image", "not an export", "no family", "no model file", "empty text", "unknown option"],
)
def test_bad_input_is_one_line_and_exit_2(case, exports, tmp_path):
    (tmp_path / "notes.jpg").write_bytes(b"these bytes are not an image")
    (tmp_path / "empty.txt").write_text(" ?! \n")
    (tmp_path / "no_model").mkdir()
    shutil.copy(exports["cnn"] / "metadata.json", tmp_path / "no_model")
    shutil.copytree(exports["cnn"], tmp_path / "old")  # an export written before metadata.json named the family
    old = json.loads((tmp_path / "old" / "metadata.json").read_text())
    (tmp_path / "old" / "metadata.json").write_text(json.dumps({k: v for k, v in old.items() if k != "family"}))
    args, message = {
        "missing file": ((exports["cnn"], tmp_path / "nope.png"), "nope.png: no such file"),
        "not an image": ((exports["cnn"], tmp_path / "notes.jpg"), "notes.jpg: not a readable image"),
        "not an export": ((tmp_path, tmp_path / "notes.jpg"), "not an export folder (no metadata.json)"),
        "no family": ((tmp_path / "old", tmp_path / "notes.jpg"), "family None is not one predict knows"),
        "no model file": ((tmp_path / "no_model", tmp_path / "notes.jpg"), "no model file"),
        "empty text": ((exports["sentiment"], tmp_path / "empty.txt"), "empty.txt: no words in it"),
        "unknown option": ((exports["cnn"], "--colour"), "unrecognized arguments: --colour"),
    }[case]
    proc = run_predict(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert message in lines[-1] and "Traceback" not in proc.stderr
    assert len(lines) == 1 or case == "unknown option"  # argparse prints its usage first


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_a_gpu_that_is_not_there_is_a_clear_error(exports, photos):
    for runtime in ("onnx", "torch"):
        with pytest.raises(PipelineError, match="--device cuda: "):
            predict(exports["cnn"], photos[:1], runtime=runtime, device="cuda")


# --- a model exported here ----------------------------------------------------------------------


def test_a_freshly_exported_mlp_predicts_the_same_on_both_runtimes(digits_store, trained_mlp, tmp_path):
    from pipeline.core.store import load_split
    from pipeline.deployment.export import export_classifier

    folder = tmp_path / "mlp"
    export_classifier(trained_mlp, load_split(digits_store["test"]).inputs, folder, 1e-4, 128)
    files = [png(tmp_path / f"{m}.png", m, (40, 30)) for m in ("RGB", "L")]
    a, b = (predict(folder, files, runtime=r, top_k=10) for r in ("onnx", "torch"))
    assert (a["runtime"], b["runtime"]) == ("onnx", "torch")
    assert_same_answers(a, b)
    assert math.isclose(sum(p for _, p in tops(a)[0]), 1.0, rel_tol=1e-9)
