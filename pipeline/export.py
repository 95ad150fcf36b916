"""Deployment artifacts: TorchScript (the course's deployment lesson, scripted so that control
flow survives) and `torch.export` (.pt2, dynamic batch), each reloaded from disk and checked
against the eager model before it is moved into place.

A format whose exporter cannot handle the model is not written; metadata.json says why. A format
that exports but does not reproduce the eager outputs within `export.atol` fails the stage and
leaves no file behind.

Both files are made byte-identical wherever they are built: TorchScript's debug records and the
exported graph's stack traces hold absolute source paths, so they are left out. (TorchScript also
emits constants in `set` order, which is why dvc.yaml runs export stages with PYTHONHASHSEED=0.)"""

from __future__ import annotations

import io
import logging
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from pipeline.checkpoint import load_checkpoint
from pipeline.core.errors import PipelineError
from pipeline.core.io import write_json
from pipeline.models import as_float

log = logging.getLogger(__name__)


class ExportError(PipelineError):
    """An exported model does not reproduce the eager model's outputs."""


@dataclass
class Signature:
    """How a model is called: example inputs for tracing, which dimensions are dynamic, and
    batches of real inputs for the parity check."""

    example: tuple[torch.Tensor, ...]
    dynamic: tuple[dict[int, Any] | None, ...]
    batches: list[tuple[torch.Tensor, ...]]


def batch_signature(inputs: torch.Tensor, batch_size: int) -> Signature:
    """Models called as model(x) with x of shape (batch, ...): classifiers of every family."""
    x = as_float(inputs)
    batches = [(x[i:i + batch_size],) for i in range(0, len(x), batch_size)] + [(x[:1],)]
    # A zero example: the .pt2 archive stores it, and it should not hold a test sample.
    return Signature((torch.zeros_like(x[:2]),), ({0: torch.export.Dim.DYNAMIC},), batches)


def _without_debug_records(archive: bytes) -> bytes:
    """Rewrite a TorchScript zip without its `*.debug_pkl` records (source ranges with absolute
    paths), through torch's own writer, which aligns records and derives the archive's
    serialization id from their contents."""
    src = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    writer = torch._C.PyTorchFileWriter(out)
    for name in src.namelist():
        record = name.split("/", 1)[1]
        if not record.endswith(".debug_pkl") and record not in (".data/serialization_id", ".data/version", "byteorder"):
            data = src.read(name)
            writer.write_record(record, data, len(data))
    writer.write_end_of_file()
    return out.getvalue()


def _torchscript_save(model: nn.Module, sig: Signature, fh) -> None:
    buf = io.BytesIO()
    with warnings.catch_warnings():  # deprecated upstream in favour of torch.export; still the course's format
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(model), buf)
    fh.write(_without_debug_records(buf.getvalue()))


def _torchscript_load(path: Path) -> Callable:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(path, map_location="cpu")


def _export_save(model: nn.Module, sig: Signature, fh) -> None:
    program = torch.export.export(model, sig.example, dynamic_shapes=sig.dynamic)
    for module in program.graph_module.modules():
        if isinstance(module, torch.fx.GraphModule):
            for node in module.graph.nodes:
                node.meta.pop("stack_trace", None)  # absolute source paths
    torch.export.save(program, fh)


def _export_load(path: Path) -> Callable:
    return torch.export.load(path).module()


# format -> (file name, save, load, how to use it)
FORMATS: dict[str, tuple[str, Callable, Callable, str]] = {
    "torchscript": ("model.ts", _torchscript_save, _torchscript_load,
                    "TorchScript (torch.jit.script); load with torch.jit.load, or from C++ with LibTorch"),
    "torch_export": ("model.pt2", _export_save, _export_load,
                     "torch.export ExportedProgram with dynamic batch; load with torch.export.load(path).module()"),
}


def _outputs(result: Any) -> list[torch.Tensor]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


@torch.no_grad()
def max_abs_diff(reference: Callable, candidate: Callable, batches: list[tuple[torch.Tensor, ...]]) -> float:
    worst = 0.0
    for args in batches:
        for a, b in zip(_outputs(reference(*args)), _outputs(candidate(*args)), strict=True):
            worst = max(worst, (a - b).abs().max().item() if a.numel() else 0.0)
    return worst


def export_format(fmt: str, model: nn.Module, out_dir: str | Path, sig: Signature, atol: float) -> dict:
    """Write `model` in format `fmt` into `out_dir` if, reloaded, it matches the eager model within
    `atol` on every batch of `sig`. An exporter that cannot handle the model: {'error': why}."""
    name, save, load, description = FORMATS[fmt]
    path = Path(out_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.tmp{path.suffix}")  # torch.export.load wants the .pt2 suffix
    try:
        try:
            with open(tmp, "wb") as fh:
                save(model, sig, fh)
            loaded = load(tmp)
        except Exception as err:  # noqa: BLE001 - any exporter failure is reported, not hidden
            reason = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
            log.warning("%s: cannot export this model (%s); recorded in metadata.json", fmt, reason)
            return {"error": reason}
        diff = max_abs_diff(model, loaded, sig.batches)
        if not diff <= atol:
            raise ExportError(f"{fmt}: exported outputs differ from the eager model's by {diff:.3g} > "
                              f"export.atol={atol:g}; not writing {path}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    samples = sum(len(args[0]) for args in sig.batches)
    log.info("%s: %s, max |diff| %.3g over %d samples", fmt, path, diff, samples)
    # The measured difference depends on the CPU's kernels, so only the bound is recorded:
    # metadata.json stays the same bytes on every machine.
    return {"file": name, "description": description, "parity": f"max |diff| <= {atol:g} on {samples} samples"}


def export_all(model: nn.Module, sig: Signature | dict[str, Signature], out_dir: str | Path, atol: float,
               metadata: dict[str, Any]) -> dict:
    """Every format of FORMATS (each with its own signature, if `sig` maps formats to them), then
    metadata.json (last) with what each format gave."""
    model.eval()
    formats = {fmt: export_format(fmt, model, out_dir, sig[fmt] if isinstance(sig, dict) else sig, atol)
               for fmt in FORMATS}
    metadata = metadata | {"export": {"atol": atol, "torch": torch.__version__.split("+")[0], "formats": formats}}
    write_json(Path(out_dir) / "metadata.json", metadata)
    return metadata


def classifier_metadata(ckpt: dict[str, Any]) -> dict[str, Any]:
    """What a user of an exported classifier needs: inputs, outputs, classes, how it was made."""
    spec = ckpt["spec"]
    inputs = {
        "image": {"shape": ["batch", *spec.get("input_shape", [])], "dtype": "float32", "range": [0.0, 1.0],
                  "layout": "NCHW", "mean": spec.get("mean"), "std": spec.get("std"),
                  "note": "pixels/255; the model normalizes with mean/std itself"},
        "tabular": {"shape": ["batch", len(spec.get("features", []))], "dtype": "float32",
                    "features": spec.get("features"), "note": "raw values; the model standardizes them itself"},
        "sentiment": {"shape": ["batch", spec.get("seq_length")], "dtype": "int64",
                      "note": "word codes, left-padded with 0; 1 = unknown word; word i+2 of vocabulary",
                      "vocabulary": ckpt.get("vocab")},
    }[ckpt["family"]]
    binary = spec.get("binary", False)
    output = ({"shape": ["batch"], "meaning": "score of class 1 (" + spec["classes"][1] + "); > 0 means class 1"
               + ("; sigmoid gives its probability" if spec.get("probabilistic", True) else "")}
              if binary else {"shape": ["batch", len(spec["classes"])], "meaning": "logits; softmax gives probabilities"})
    return {"model": ckpt["model"], "arch": ckpt["arch"], "dataset": ckpt["dataset"], "classes": spec["classes"],
            "input": inputs, "output": output,
            "trained": {"params": ckpt["params"], "best_epoch": ckpt["epoch"], "val": ckpt["metrics"],
                        **{k: ckpt[k] for k in ("augment", "label_map") if ckpt.get(k)}}}


def export_classifier(checkpoint: str | Path, test_inputs: torch.Tensor, out_dir: str | Path, atol: float,
                      batch_size: int) -> dict:
    model, ckpt = load_checkpoint(checkpoint)
    return export_all(model, batch_signature(test_inputs, batch_size), out_dir, atol, classifier_metadata(ckpt))
