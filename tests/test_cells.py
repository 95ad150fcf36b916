"""The recurrent cell (`cell: lstm | gru | rnn`) of the char-RNN and the sentiment model: the schema
allows exactly the registered cells, lstm is the default and today's model, the course's quiz on a
GRU's hidden state; a GRU and an RNN of each model through one epoch of training and every export
format (within export.atol of eager), and (slow) the C++ program, ONNX Runtime and `predict`
writing the same text as Python. The LSTM's runs are tests/test_charrnn.py's; every cell's forward
pass and training steps are tests/test_models.py's."""

from __future__ import annotations

import json
import typing

import pytest
import torch
from torch import nn

from pipeline.core.errors import ConfigError
from pipeline.core.params import read_yaml
from pipeline.core.store import load_split
from pipeline.data.text import encode_reviews_dataset
from pipeline.deployment.cpp import generate
from pipeline.deployment.deploy import check_classifier
from pipeline.deployment.deploy_charrnn import check_charrnn
from pipeline.deployment.export import FORMATS, export_classifier
from pipeline.deployment.export_charrnn import export_charrnn
from pipeline.deployment.predict import predict
from pipeline.models import build_model
from pipeline.models import charrnn as charrnn_model
from pipeline.models import sentiment as sentiment_model
from pipeline.models.charrnn import sample
from pipeline.run import check
from pipeline.schema import charrnn as charrnn_schema
from pipeline.schema import sentiment as sentiment_schema
from pipeline.schema.encode import EncodeReviewsParams
from pipeline.training.charrnn import train_charrnn
from pipeline.training.engine.loop import Outputs
from pipeline.training.engine.runner import Runner
from pipeline.training.sentiment import train_sentiment
from pipeline.weights.checkpoint import load_checkpoint
from tests.conftest import ROOT, encoded_corpus, fetch

PARAMS = read_yaml(ROOT / "params.yaml")
ATOL = PARAMS["export"]["atol"]
CELLS = list(charrnn_model.CELLS)
NEW = [cell for cell in CELLS if cell != "lstm"]  # the LSTM's runs are tests/test_charrnn.py's and the pipeline's


def char_params(cell: str, **kw) -> charrnn_schema.Params:
    p = PARAMS["charrnn"]["charrnn"]
    return charrnn_schema.Params.model_validate(
        p | dict(cell=cell, hidden=16, layers=2, seq_length=20, batch_size=8, epochs=1) | kw
    )


def sentiment_params(cell: str) -> sentiment_schema.Params:
    p = PARAMS["sentiment"]["sentiment"]
    return sentiment_schema.Params.model_validate(
        p | dict(cell=cell, embedding_dim=8, hidden=8, batch_size=20, epochs=1)
    )


def sampling(**kw) -> charrnn_schema.Sampling:
    return charrnn_schema.Sampling.model_validate(PARAMS["sample"]["charrnn"] | dict(length=40, samples=1) | kw)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return encoded_corpus(tmp_path_factory.mktemp("corpus"), max_chars=8000)


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    root = tmp_path_factory.mktemp("reviews")
    facts = fetch("synthetic_reviews", root / "raw", generate={"samples": 300, "seed": 0})
    paths = {s: root / f"{s}.pt" for s in ("train", "val", "test")}
    cfg = EncodeReviewsParams(seq_length=24, min_count=1, val_fraction=0.2, test_fraction=0.2, seed=0)
    vocab = encode_reviews_dataset(facts, root / "raw", cfg, paths, root / "vocab.json")
    return {s: load_split(p) for s, p in paths.items()}, vocab


@pytest.fixture(scope="module")
def char_models(corpus, tmp_path_factory) -> dict[str, tuple]:
    """Per cell but the LSTM: (checkpoint, export folder), a tiny char-RNN trained for one epoch and
    exported."""
    tokens, vocab = corpus
    out = {}
    for cell in NEW:
        root = tmp_path_factory.mktemp(f"charrnn-{cell}")
        p = char_params(cell)
        train_charrnn(
            cell, p, tokens, vocab, Outputs(root / "m.pt", root / "l.csv", root / "a.csv"), Runner.local(cell, p.seed)
        )
        export_charrnn(root / "m.pt", tokens, root / "export", ATOL)
        out[cell] = (root / "m.pt", root / "export")
    return out


@pytest.fixture(scope="module")
def sentiment_models(reviews, tmp_path_factory) -> dict[str, tuple]:
    """Per cell but the LSTM: (checkpoint, export folder, training result), a tiny sentiment model
    trained for one epoch and exported."""
    splits, vocab = reviews
    out = {}
    for cell in NEW:
        root = tmp_path_factory.mktemp(f"sentiment-{cell}")
        result = train_sentiment(
            cell,
            (p := sentiment_params(cell)),
            splits["train"],
            splits["val"],
            vocab,
            Outputs(root / "m.pt", root / "l.csv", root / "a.csv"),
            Runner.local(cell, p.seed),
        )
        export_classifier(root / "m.pt", splits["test"].inputs, root / "export", ATOL, 32)
        out[cell] = (root / "m.pt", root / "export", result)
    return out


def test_the_schemas_allow_exactly_the_registered_cells_with_lstm_the_default():
    for schema, model in ((charrnn_schema, charrnn_model), (sentiment_schema, sentiment_model)):
        field = schema.Params.model_fields["cell"]
        assert typing.get_args(field.annotation) == tuple(model.CELLS) == ("lstm", "gru", "rnn")
        assert field.default == "lstm"
    assert charrnn_model.CELLS == sentiment_model.CELLS


def test_an_unknown_cell_names_the_key_and_the_allowed_values():
    raw = read_yaml(ROOT / "params.yaml")
    raw["charrnn"]["charrnn"]["cell"] = "gru2"
    raw["sentiment"]["sentiment"]["cell"] = "GRU"
    with pytest.raises(ConfigError) as err:
        check.validate(raw, datasets=ROOT / "datasets")
    assert "charrnn.charrnn.cell: Input should be 'lstm', 'gru' or 'rnn' (got 'gru2')" in str(err.value)
    assert "sentiment.sentiment.cell: Input should be 'lstm', 'gru' or 'rnn' (got 'GRU')" in str(err.value)


def test_lstm_is_the_default_and_builds_the_same_weights():
    """An entry without `cell` (every params.yaml before it) is the LSTM, weight for weight."""
    spec = {"chars": list("abcdefgh")}
    entry = dict(PARAMS["charrnn"]["charrnn"])
    entry.pop("cell", None)
    built = []
    for given in (entry, entry | {"cell": "lstm"}):
        p = charrnn_schema.Params.model_validate(given)
        torch.manual_seed(0)
        built.append(build_model("charrnn", p, spec))
    assert isinstance(built[0].rnn, nn.LSTM) and built[0].has_cell_state
    assert all(torch.equal(a, b) for a, b in zip(built[0].state_dict().values(), built[1].state_dict().values()))


def test_course_quiz_a_gru_hidden_state_is_layers_by_batch_by_hidden():
    """A GRU with input 100, hidden 20, one layer, batch_first, fed 3 sequences: h is (1, 3, 20)."""
    gru = nn.GRU(100, 20, 1, batch_first=True)
    out, h = gru(torch.rand(3, 7, 100))
    assert out.shape == (3, 7, 20) and h.shape == (1, 3, 20)
    # The same through the char-RNN: one-hot over 100 characters is an input of 100.
    p = char_params("gru", hidden=20, layers=1, dropout=0.0)
    model = build_model("charrnn", p, {"chars": [chr(32 + i) for i in range(100)]})
    assert isinstance(model.rnn, nn.GRU) and model.rnn.input_size == 100 and model.rnn.hidden_size == 20
    h0, c0 = model.init_state(3)
    logits, h, c = model(torch.randint(0, 100, (3, 7)), h0, c0)
    assert logits.shape == (3, 7, 100) and h.shape == (1, 3, 20)
    assert c is c0  # a GRU has no cell state: c passes through
    # And through the sentiment model's layer (embedding 100 -> hidden 20).
    sp = sentiment_params("gru").model_copy(update={"embedding_dim": 100, "hidden": 20, "layers": 1})
    senti = build_model("sentiment", sp, {"vocab_size": 50})
    _, h = senti.rnn(senti.embed(torch.randint(0, 50, (3, 7))))
    assert isinstance(senti.rnn, nn.GRU) and h.shape == (1, 3, 20)


@pytest.mark.slow  # trains a char-RNN of each cell and exports it in three formats: seconds
@pytest.mark.parametrize("cell", NEW)
def test_a_char_rnn_of_each_cell_trains_and_every_format_matches_eager(cell, char_models, corpus):
    ckpt_path, folder = char_models[cell]
    eager, ckpt = load_checkpoint(ckpt_path)
    assert type(eager.rnn) is charrnn_model.CELLS[cell] and ckpt["params"]["cell"] == cell
    assert ckpt["metrics"]["val_loss"] < 4.0  # below log(vocabulary): it learned something in one epoch
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["cell"] == cell and meta["trained"]["params"]["cell"] == cell
    assert all("file" in f for f in meta["export"]["formats"].values()), meta["export"]["formats"]
    x = corpus[0]["val"][:48].long().view(3, 16)
    h, c = eager.init_state(3)
    with torch.no_grad():
        full, h_full, c_full = eager(x, h, c)
        scripted = FORMATS["torchscript"][2](folder / "model.ts")
        got = scripted(x, h, c)
        assert max((a - b).abs().max().item() for a, b in zip(got, (full, h_full, c_full))) <= ATOL
        # model.pt2 and model.onnx, one character per call from the states they reach themselves
        for fmt in ("torch_export", "onnx"):
            run, sh, sc = FORMATS[fmt][2](folder / FORMATS[fmt][0]), h, c
            for t in range(x.shape[1]):
                out, sh, sc = run(x[:, t : t + 1], sh, sc)
                assert (out[:, 0] - full[:, t]).abs().max().item() <= ATOL, (fmt, t)
            assert (sh - h_full).abs().max().item() <= ATOL, fmt
            assert torch.equal(torch.as_tensor(sc), c), fmt  # no cell state: c passed through unchanged


@pytest.mark.slow  # trains a sentiment model of each cell and exports it: seconds
@pytest.mark.parametrize("cell", NEW)
def test_a_sentiment_model_of_each_cell_trains_and_every_format_matches_eager(cell, sentiment_models, reviews):
    ckpt_path, folder, result = sentiment_models[cell]
    test = reviews[0]["test"]
    assert len(result.history) == 1 and result.history[0]["val_loss"] < 1.0
    eager, ckpt = load_checkpoint(ckpt_path)
    assert type(eager.rnn) is sentiment_model.CELLS[cell] and ckpt["params"]["cell"] == cell
    meta = json.loads((folder / "metadata.json").read_text())
    assert all("file" in f for f in meta["export"]["formats"].values()), meta["export"]["formats"]
    assert meta["trained"]["params"]["cell"] == cell
    with torch.no_grad():
        expected = eager(test.inputs)
        for fmt, (name, _, load, _) in FORMATS.items():
            assert (load(folder / name)(test.inputs) - expected).abs().max().item() <= ATOL, fmt


@pytest.mark.slow
@pytest.mark.parametrize("cell", NEW)
def test_cpp_onnx_runtime_and_predict_write_pythons_text(cell, char_models, corpus, course_model, tmp_path):
    """The one signature (x, h, c) for every cell: the C++ program and `predict` run a GRU or an
    RNN with the code that runs the LSTM, and write Python's text."""
    ckpt_path, folder = char_models[cell]
    eager, ckpt = load_checkpoint(ckpt_path)
    chars = ckpt["spec"]["chars"]
    for top_k, seed in ((1, 0), (5, 0), (5, 7)):
        python = sample(eager, chars, "The ", 60, top_k, torch.Generator().manual_seed(seed))
        assert generate(course_model, folder / "model.ts", "The ", 60, top_k, seed) == python, (top_k, seed)
        torch_text = predict(folder, prime="The ", length=60, top_k=top_k, seed=seed, runtime="torch")
        assert torch_text["predictions"][0]["text"] == python, (top_k, seed)
    # ONNX Runtime draws with numpy's generator; greedy decoding takes no draw, so it is Python's text.
    greedy = sample(eager, chars, "The ", 60, 1, torch.Generator())
    assert predict(folder, prime="The ", length=60, top_k=1, runtime="onnx")["predictions"][0]["text"] == greedy
    report = check_charrnn(ckpt_path, folder, corpus[0], course_model, sampling(), ATOL, tmp_path / "m.json")
    assert report["cpp"]["same_sampled_text"] is True and report["cpp"]["same_greedy_text"] is True
    assert report["cpp"]["max_abs_diff"] <= ATOL and report["onnxruntime"]["max_abs_diff_at_most"] <= ATOL


@pytest.mark.slow
@pytest.mark.parametrize("cell", NEW)
def test_the_deployment_check_of_a_sentiment_model_of_each_cell(
    cell, sentiment_models, reviews, course_model, tmp_path
):
    ckpt_path, folder, _ = sentiment_models[cell]
    report = check_classifier(ckpt_path, folder, reviews[0]["test"], course_model, ATOL, 32, tmp_path / "m.json")
    for consumer in ("cpp", "onnxruntime"):
        assert report[consumer]["accuracy"] == report["eager"]["accuracy"]
    assert report["cpp"]["max_abs_diff"] <= ATOL and report["onnxruntime"]["max_abs_diff_at_most"] == ATOL
