"""The character-level LSTM: the course's batching, training, seeded top-k samples, metrics, the
export formats, and text generated from C++ (the real program) equal to Python's."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from pipeline.core.errors import ConfigError, CppError
from pipeline.core.params import read_yaml
from pipeline.deployment.cpp import generate
from pipeline.deployment.deploy_charrnn import check_charrnn
from pipeline.deployment.export import FORMATS
from pipeline.deployment.export_charrnn import export_charrnn
from pipeline.inspection.evaluate_charrnn import evaluate_charrnn
from pipeline.models.charrnn import batches, sample
from pipeline.schema.charrnn import Params, Sampling
from pipeline.training.charrnn import train_charrnn
from pipeline.training.engine.loop import Outputs
from pipeline.training.engine.runner import Runner
from pipeline.weights.checkpoint import load_checkpoint
from tests.conftest import ROOT, encoded_corpus


def small_params(**kw) -> Params:
    p = read_yaml(ROOT / "params.yaml")["charrnn"]["charrnn"]
    return Params.model_validate(p | dict(hidden=32, layers=2, seq_length=20, batch_size=8, epochs=2) | kw)


def small_sampling(**kw) -> Sampling:
    s = read_yaml(ROOT / "params.yaml")["sample"]["charrnn"]
    return Sampling.model_validate(s | dict(length=40, samples=2) | kw)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return encoded_corpus(tmp_path_factory.mktemp("corpus"), max_chars=30000)


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    tokens, vocab = corpus
    out = tmp_path_factory.mktemp("charrnn")
    p = small_params()
    result = train_charrnn(
        "c", p, tokens, vocab, Outputs(out / "m.pt", out / "l.csv", out / "a.csv"), Runner.local("charrnn.c", p.seed)
    )
    return out / "m.pt", result


def test_batches_are_windows_shifted_by_one():
    codes = torch.arange(101)
    got = list(batches(codes, batch_size=2, seq_length=10))
    assert len(got) == 5 and got[0][0].shape == (2, 10)
    x, y = got[0]
    assert x[0].tolist() == list(range(10)) and y[0].tolist() == list(range(1, 11))
    assert x[1, 0].item() == 50  # the text is cut into batch_size rows
    assert torch.equal(got[1][0][0], torch.arange(10, 20))  # the next window continues the row


def test_training_lowers_the_validation_loss(trained):
    _, result = trained
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"] < 5.0


def test_samples_are_seeded_and_start_with_the_prime(trained, corpus):
    model, ckpt = load_checkpoint(trained[0])
    chars = ckpt["spec"]["chars"]
    a = sample(model, chars, "The ", 30, 3, torch.Generator().manual_seed(1))
    b = sample(model, chars, "The ", 30, 3, torch.Generator().manual_seed(1))
    assert a == b and a.startswith("The ") and len(a) == 34
    with pytest.raises(ConfigError, match="the prime 'Zürich' has characters the corpus lacks"):
        sample(model, chars, "Zürich", 5, 3, torch.Generator())


def test_metrics_and_samples_file(trained, corpus, tmp_path):
    metrics = evaluate_charrnn(trained[0], corpus[0], small_sampling(), tmp_path / "m.json", tmp_path / "s.txt")
    val = metrics["val"]
    assert set(val) == {"loss", "perplexity", "accuracy", "precision_macro", "recall_macro"}
    assert val["perplexity"] == pytest.approx(torch.tensor(val["loss"]).exp().item(), rel=1e-5)
    assert json.loads((tmp_path / "m.json").read_text()) == metrics
    assert (tmp_path / "s.txt").read_text().count("--- sample") == 2


def test_every_format_exports_and_carries_the_vocabulary(trained, corpus, tmp_path):
    meta = export_charrnn(trained[0], corpus[0], tmp_path, 1e-4)
    assert set(meta["export"]["formats"]) == {"torchscript", "torch_export", "onnx"}
    assert all("file" in f for f in meta["export"]["formats"].values())
    eager, ckpt = load_checkpoint(trained[0])
    assert meta["vocabulary"] == ckpt["spec"]["chars"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.load(tmp_path / "model.ts")
    step = torch.export.load(tmp_path / "model.pt2").module()
    x = torch.randint(0, len(meta["vocabulary"]), (3, 15))
    h, c = eager.init_state(3)
    with torch.no_grad():
        full, _, _ = eager(x, h, c)
        assert torch.allclose(scripted(x, h, c)[0], full, atol=1e-5)
        for t in range(15):  # the .pt2 feeds one character at a time and agrees with the full pass
            out, h, c = step(x[:, t : t + 1], h, c)
            assert torch.allclose(out[:, 0], full[:, t], atol=1e-5)
    # ONNX Runtime, one character per call like the .pt2, with the same results
    run = FORMATS["onnx"][2](tmp_path / "model.onnx")
    h, c = eager.init_state(3)
    for t in range(15):
        out, h, c = run(x[:, t : t + 1], h, c)
        assert torch.allclose(out[:, 0], full[:, t], atol=1e-5)


@pytest.mark.slow
def test_cpp_writes_the_same_text_as_python(trained, corpus, course_model, tmp_path):
    """Same steps, same generator (mt19937 seeded like torch.Generator): the same text for a seed,
    sampled or greedy; and the deployment check records it."""
    export_charrnn(trained[0], corpus[0], tmp_path, 1e-4)
    eager, ckpt = load_checkpoint(trained[0])
    for top_k, seed in ((1, 0), (5, 0), (5, 7)):
        python = sample(eager, ckpt["spec"]["chars"], "The ", 60, top_k, torch.Generator().manual_seed(seed))
        assert generate(course_model, tmp_path / "model.ts", "The ", 60, top_k, seed) == python
    report = check_charrnn(trained[0], tmp_path, corpus[0], course_model, small_sampling(), 1e-4, tmp_path / "m.json")
    assert report["cpp"]["same_sampled_text"] is True and report["cpp"]["same_greedy_text"] is True
    assert report["cpp"]["max_abs_diff"] <= 1e-4 and report["onnxruntime"]["max_abs_diff_at_most"] <= 1e-4
    with pytest.raises(CppError, match="the prime has a character the corpus lacks"):
        generate(course_model, tmp_path / "model.ts", "\u2603", 5, 1, 0)
