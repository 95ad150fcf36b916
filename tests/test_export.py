"""Export: the reloaded TorchScript, torch.export and ONNX artifacts equal the eager model, take
any batch size, hold no absolute paths and are the same bytes from a copy of the code elsewhere;
TorchScript is traced unless the model's control flow depends on its input; a format that fails
parity writes nothing; one the exporter cannot handle is recorded in metadata.json with the reason."""

from __future__ import annotations

import json
import warnings
import zipfile

import pytest
import torch

from pipeline.core.errors import ExportError
from pipeline.core.store import load_split
from pipeline.deployment import export as export_mod
from pipeline.deployment.export import batch_signature, export_all, export_classifier
from pipeline.weights.checkpoint import load_checkpoint
from tests.conftest import ROOT


def load_ts(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(path)


@pytest.fixture(scope="module")
def exported(digits_store, trained_mlp, tmp_path_factory):
    """One export of the session's MLP for the tests below, which only read it."""
    folder = tmp_path_factory.mktemp("exported")
    meta = export_classifier(trained_mlp, load_split(digits_store["test"]).inputs, folder, 1e-5, 128)
    return meta, folder


def test_exported_models_match_eager_for_any_batch(exported, trained_mlp):
    meta, folder = exported
    eager, _ = load_checkpoint(trained_mlp)
    scripted, program = load_ts(folder / "model.ts"), torch.export.load(folder / "model.pt2").module()
    onnx = export_mod.FORMATS["onnx"][2](folder / "model.onnx")  # ONNX Runtime
    for n in (1, 3, 257):
        x = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(n))
        with torch.no_grad():
            expected = eager(x)
            assert torch.allclose(scripted(x), expected, atol=1e-5, rtol=0)
            assert torch.allclose(program(x), expected, atol=1e-5, rtol=0)
            assert torch.allclose(onnx(x), expected, atol=1e-5, rtol=0)
    for fmt in ("torchscript", "torch_export", "onnx"):
        assert meta["export"]["formats"][fmt]["parity"].startswith("max |diff| <= 1e-05 on 360 samples")
    assert meta["export"]["formats"]["torchscript"]["method"] == "trace"  # an MLP has no data-dependent branch
    assert meta["export"]["formats"]["onnx"]["inputs"] == ["x"]


def test_metadata_describes_the_model(exported):
    meta, folder = exported
    assert json.loads((folder / "metadata.json").read_text()) == meta
    assert meta["classes"] == [str(d) for d in range(10)]
    assert meta["input"]["shape"] == ["batch", 1, 8, 8] and meta["input"]["range"] == [0.0, 1.0]
    assert len(meta["input"]["mean"]) == 1 and meta["trained"]["params"]["arch"] == "mlp"
    assert meta["output"]["shape"] == ["batch", 10]


def test_exported_files_hold_no_absolute_paths(exported):
    _, folder = exported
    for name in ("model.ts", "model.pt2", "model.onnx"):
        data = (folder / name).read_bytes()
        assert str(ROOT).encode() not in data and b"site-packages" not in data, name
    assert not any(n.endswith(".debug_pkl") for n in zipfile.ZipFile(folder / "model.ts").namelist())


def test_failed_parity_writes_nothing(digits_store, trained_mlp, tmp_path, monkeypatch):
    name, save, load, what = export_mod.FORMATS["torchscript"]
    off_by_a_bit = lambda path: (lambda x, m=load(path): m(x) + 1e-3)  # noqa: E731
    monkeypatch.setitem(export_mod.FORMATS, "torchscript", (name, save, off_by_a_bit, what))
    with pytest.raises(ExportError, match=r"torchscript: exported outputs differ .* > export.atol=1e-05"):
        export_classifier(trained_mlp, load_split(digits_store["test"]).inputs, tmp_path, 1e-5, 128)
    assert list(tmp_path.iterdir()) == []


class Unscriptable(torch.nn.Module):
    """Fine in eager mode and for tracing; TorchScript's compiler cannot handle a **kwargs call."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.relu(x, **{"inplace": False}) * 2


def test_a_model_the_script_compiler_rejects_is_traced(tmp_path):
    meta = export_all(Unscriptable(), batch_signature(torch.rand(6, 3), 4), tmp_path, 1e-6, {"model": "u"})
    formats = meta["export"]["formats"]
    assert formats["torchscript"]["method"] == "trace" and all("file" in f for f in formats.values())


class SignFlip(torch.nn.Module):
    """A branch on the input's values: tracing records the one branch its example takes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return x * 2
        return -x


def test_a_data_dependent_branch_is_scripted_because_a_trace_gets_it_wrong(tmp_path):
    positive, negative = torch.ones(2, 3), -torch.ones(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(SignFlip(), (positive,))
    assert torch.equal(traced(negative), negative * 2)  # wrong: the eager model gives 1s
    assert torch.equal(SignFlip()(negative), torch.ones(2, 3))
    meta = export_all(SignFlip(), batch_signature(torch.cat([positive, negative]), 2), tmp_path, 1e-6, {"model": "s"})
    ts = meta["export"]["formats"]["torchscript"]
    assert ts["method"] == "script" and "the tracer warned at" in ts["why"] and "boolean" in ts["why"], ts
    scripted = load_ts(tmp_path / "model.ts")
    assert torch.equal(scripted(negative), torch.ones(2, 3)) and torch.equal(scripted(positive), positive * 2)


def test_a_format_the_exporter_cannot_handle_is_explained_not_hidden(tmp_path):
    """torch.export and the ONNX exporter refuse a branch on a tensor's value; TorchScript scripts it."""
    meta = export_all(SignFlip(), batch_signature(torch.rand(6, 3) - 0.5, 4), tmp_path, 1e-6, {"model": "s"})
    formats = meta["export"]["formats"]
    for fmt in ("torch_export", "onnx"):
        assert set(formats[fmt]) == {"error"} and formats[fmt]["error"], fmt
    assert formats["torchscript"]["method"] == "script"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metadata.json", "model.ts"]
