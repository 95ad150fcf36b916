"""Export: the reloaded TorchScript and torch.export artifacts equal the eager model, take any
batch size, hold no absolute paths; a format that fails parity writes nothing; one the exporter
cannot handle is recorded in metadata.json with the reason."""

from __future__ import annotations

import json
import warnings
import zipfile

import pytest
import torch

from pipeline import export as export_mod
from pipeline.checkpoint import load_checkpoint
from pipeline.data.store import load_split
from pipeline.export import ExportError, batch_signature, export_all, export_classifier
from tests.conftest import ROOT


def load_ts(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(path)


@pytest.fixture
def exported(digits_store, trained_mlp, tmp_path):
    meta = export_classifier(trained_mlp, load_split(digits_store["test"]).inputs, tmp_path, 1e-5, 128)
    return meta, tmp_path


def test_exported_models_match_eager_for_any_batch(exported, trained_mlp):
    meta, folder = exported
    eager, _ = load_checkpoint(trained_mlp)
    scripted, program = load_ts(folder / "model.ts"), torch.export.load(folder / "model.pt2").module()
    for n in (1, 3, 257):
        x = torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(n))
        with torch.no_grad():
            expected = eager(x)
            assert torch.allclose(scripted(x), expected, atol=1e-5, rtol=0)
            assert torch.allclose(program(x), expected, atol=1e-5, rtol=0)
    for fmt in ("torchscript", "torch_export"):
        assert meta["export"]["formats"][fmt]["parity"].startswith("max |diff| <= 1e-05 on 360 samples")


def test_metadata_describes_the_model(exported):
    meta, folder = exported
    assert json.loads((folder / "metadata.json").read_text()) == meta
    assert meta["classes"] == [str(d) for d in range(10)]
    assert meta["input"]["shape"] == ["batch", 1, 8, 8] and meta["input"]["range"] == [0.0, 1.0]
    assert len(meta["input"]["mean"]) == 1 and meta["trained"]["params"]["arch"] == "mlp"
    assert meta["output"]["shape"] == ["batch", 10]


def test_exported_files_hold_no_absolute_paths(exported):
    _, folder = exported
    for name in ("model.ts", "model.pt2"):
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
    """Fine in eager mode and for torch.export; TorchScript cannot compile a **kwargs call."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.relu(x, **{"inplace": False}) * 2


def test_a_format_the_exporter_cannot_handle_is_explained_not_hidden(tmp_path):
    meta = export_all(Unscriptable(), batch_signature(torch.rand(6, 3), 4), tmp_path, 1e-6, {"model": "u"})
    formats = meta["export"]["formats"]
    assert set(formats["torchscript"]) == {"error"} and formats["torchscript"]["error"]
    assert formats["torch_export"]["file"] == "model.pt2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metadata.json", "model.pt2"]
