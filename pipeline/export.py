"""Deployment artifacts: TorchScript (the course's deployment lesson) and `torch.export` (.pt2,
dynamic batch), each reloaded from disk and checked against the eager model on the test split
before it is moved into place. A format that fails its parity check fails the stage and leaves
no file behind.

Both files are made byte-identical wherever they are built: TorchScript's debug records and the
exported graph's stack traces hold absolute source paths, so they are left out. (TorchScript also
emits constants in `set` order, which is why dvc.yaml runs this stage with PYTHONHASHSEED=0.)"""

from __future__ import annotations

import io
import logging
import os
import warnings
import zipfile
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from pipeline.checkpoint import load_checkpoint
from pipeline.errors import ExportError
from pipeline.io import write_json

log = logging.getLogger(__name__)


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


def _torchscript_save(model: nn.Module, example: torch.Tensor, fh) -> None:
    buf = io.BytesIO()
    with warnings.catch_warnings():  # deprecated upstream in favour of torch.export; still the course's format
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(model), buf)
    fh.write(_without_debug_records(buf.getvalue()))


def _torchscript_load(path: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(path, map_location="cpu")


def _export_save(model: nn.Module, example: torch.Tensor, fh) -> None:
    program = torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim.DYNAMIC},))
    for module in program.graph_module.modules():
        if isinstance(module, torch.fx.GraphModule):
            for node in module.graph.nodes:
                node.meta.pop("stack_trace", None)  # absolute source paths
    torch.export.save(program, fh)


def _export_load(path: Path) -> Callable[[torch.Tensor], torch.Tensor]:
    return torch.export.load(path).module()


# format -> (save, load, what it is)
FORMATS: dict[str, tuple[Callable, Callable, str]] = {
    "torchscript": (_torchscript_save, _torchscript_load,
                    "TorchScript (torch.jit.script); load with torch.jit.load, or from C++ with LibTorch"),
    "torch_export": (_export_save, _export_load,
                     "torch.export ExportedProgram with a dynamic batch dimension; load with "
                     "torch.export.load(path).module()"),
}


@torch.no_grad()
def max_abs_diff(reference: Callable, candidate: Callable, inputs: torch.Tensor, batch_size: int) -> float:
    worst = 0.0
    for i in range(0, len(inputs), batch_size):
        x = inputs[i:i + batch_size]
        worst = max(worst, (reference(x) - candidate(x)).abs().max().item())
    return worst


def export_format(fmt: str, model: nn.Module, path: str | Path, inputs: torch.Tensor, atol: float,
                  batch_size: int) -> dict:
    """Write `model` in format `fmt` to `path` if, reloaded, it matches the eager model within
    `atol` on `inputs` (float images in [0, 1]) and on a batch of one."""
    save, load, description = FORMATS[fmt]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.tmp{path.suffix}")  # torch.export.load wants the .pt2 suffix
    try:
        with open(tmp, "wb") as fh:
            # A zero example: the .pt2 archive stores it, and it should not hold a test image.
            save(model, torch.zeros_like(inputs[:2]), fh)
        loaded = load(tmp)
        diff = max(max_abs_diff(model, loaded, inputs, batch_size), max_abs_diff(model, loaded, inputs[:1], 1))
        if not diff <= atol:
            raise ExportError(f"{fmt}: exported outputs differ from the eager model's by {diff:.3g} > "
                              f"export.atol={atol:g} on the test split; not writing {path}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("%s: %s, max |diff| %.3g on %d test images", fmt, path, diff, len(inputs))
    return {"file": path.name, "description": description, "parity_max_abs_diff": diff,
            "parity_samples": len(inputs)}


def export_model(checkpoint: str | Path, test_images: torch.Tensor, out: dict[str, str | Path],
                 metadata_path: str | Path, atol: float, batch_size: int) -> dict:
    """Export a checkpoint in every format of FORMATS (paths in `out`), then write metadata.json."""
    model, ckpt = load_checkpoint(checkpoint)
    inputs = test_images.float().div(255)
    formats = {fmt: export_format(fmt, model, out[fmt], inputs, atol, batch_size) for fmt in FORMATS}
    metadata = {
        "model": ckpt["model"], "arch": ckpt["arch"], "dataset": ckpt["dataset"], "classes": ckpt["classes"],
        "input": {"shape": ["batch", *ckpt["input_shape"]], "dtype": "float32", "range": [0.0, 1.0],
                  "layout": "NCHW", "mean": ckpt["mean"], "std": ckpt["std"],
                  "note": "pixels/255; the model normalizes with mean/std itself"},
        "output": {"shape": ["batch", len(ckpt["classes"])], "meaning": "logits; softmax gives probabilities"},
        "trained": {"params": ckpt["params"], "augment": ckpt["augment"], "best_epoch": ckpt["epoch"],
                    "val": ckpt["metrics"]},
        "export": {"atol": atol, "torch": torch.__version__.split("+")[0], "formats": formats},
    }
    write_json(metadata_path, metadata)
    return metadata
