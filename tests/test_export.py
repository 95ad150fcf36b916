"""Export: the reloaded TorchScript and torch.export artifacts equal the eager model, take any
batch size, and a format that fails its parity check writes nothing."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from pipeline import export as export_mod
from pipeline.checkpoint import load_checkpoint
from pipeline.data.store import load_split
from pipeline.errors import ExportError
from pipeline.export import export_model


@pytest.fixture
def exported(digits_store, trained_mlp, tmp_path):
    out = {"torchscript": tmp_path / "model.ts", "torch_export": tmp_path / "model.pt2"}
    meta = export_model(trained_mlp, load_split(digits_store["test"]).images, out, tmp_path / "metadata.json",
                        1e-5, 128)
    return out, meta, tmp_path


def test_exported_models_match_eager_for_any_batch(exported, trained_mlp):
    out, meta, _ = exported
    eager, _ = load_checkpoint(trained_mlp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.load(out["torchscript"])
    program = torch.export.load(out["torch_export"]).module()
    for n in (1, 3, 257):
        x = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(n))
        with torch.no_grad():
            expected = eager(x)
            assert torch.allclose(scripted(x), expected, atol=1e-5, rtol=0)
            assert torch.allclose(program(x), expected, atol=1e-5, rtol=0)
    for fmt in ("torchscript", "torch_export"):
        assert meta["export"]["formats"][fmt]["parity_max_abs_diff"] <= 1e-5


def test_metadata_describes_the_model(exported):
    _, meta, folder = exported
    assert json.loads((folder / "metadata.json").read_text()) == meta
    assert meta["classes"] == [str(d) for d in range(10)]
    assert meta["input"]["shape"] == ["batch", 1, 8, 8] and meta["input"]["range"] == [0.0, 1.0]
    assert len(meta["input"]["mean"]) == 1 and meta["trained"]["params"]["arch"] == "mlp"


def test_failed_parity_writes_nothing(digits_store, trained_mlp, tmp_path, monkeypatch):
    save, load, what = export_mod.FORMATS["torchscript"]
    off_by_a_bit = lambda path: (lambda x, m=load(path): m(x) + 1e-3)  # noqa: E731
    monkeypatch.setitem(export_mod.FORMATS, "torchscript", (save, off_by_a_bit, what))
    out = {"torchscript": tmp_path / "model.ts", "torch_export": tmp_path / "model.pt2"}
    with pytest.raises(ExportError, match=r"torchscript: exported outputs differ .* > export.atol=1e-05"):
        export_model(trained_mlp, load_split(digits_store["test"]).images, out, tmp_path / "metadata.json", 1e-5, 128)
    assert list(tmp_path.iterdir()) == []


def test_exported_files_hold_no_absolute_paths(exported):
    out, _, _ = exported
    import zipfile

    from tests.conftest import ROOT

    for path in out.values():
        data = path.read_bytes()
        assert str(ROOT).encode() not in data and b"site-packages" not in data, path.name
    assert not any(n.endswith(".debug_pkl") for n in zipfile.ZipFile(out["torchscript"]).namelist())
