"""Deployment artifacts: TorchScript (the course's deployment lesson: traced, or scripted where the
model's control flow depends on its input), `torch.export` (.pt2, dynamic batch) and ONNX (for ONNX
Runtime), each reloaded from disk and checked against the eager model before it is moved into
place.

A format whose exporter cannot handle the model is not written; metadata.json says why. A format
that exports but does not reproduce the eager outputs within `export.atol` fails the stage and
leaves no file behind.

Every file is made byte-identical wherever it is built: TorchScript's debug records, the exported
graph's stack traces and ONNX's node metadata hold absolute source paths, so they are left out. (TorchScript also
emits constants in `set` order, which is why dvc.yaml runs export stages with PYTHONHASHSEED=0.)"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import nn

from pipeline.core.errors import ExportError
from pipeline.core.io import write_json
from pipeline.models import as_float
from pipeline.weights.checkpoint import load_checkpoint
from pipeline.weights.runtimes import load_torchscript, onnx_session

log = logging.getLogger(__name__)


@dataclass
class Signature:
    """How a model is called: example inputs for tracing, which dimensions are dynamic, and
    batches of real inputs for the parity check."""

    example: tuple[torch.Tensor, ...]
    dynamic: tuple[dict[int, Any] | None, ...]
    batches: list[tuple[torch.Tensor, ...]]
    outputs: tuple[str, ...] = ("logits",)  # names of the outputs (ONNX)
    files: dict[str, str] = field(default_factory=dict)  # extra files inside model.ts (C++ reads them)


def batch_signature(inputs: torch.Tensor, batch_size: int) -> Signature:
    """Models called as model(x) with x of shape (batch, ...): classifiers of every family."""
    x = as_float(inputs)
    batches = [(x[i : i + batch_size],) for i in range(0, len(x), batch_size)] + [(x[:1],)]
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


def _trace(model: nn.Module, sig: Signature, atol: float) -> tuple[Any, str | None]:
    """Trace `model`, or say why a trace cannot be trusted: the tracer warned that a tensor's value
    decided something (data-dependent control flow or shapes), or the trace differs from the
    eager model on real inputs."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", FutureWarning)
        try:
            traced = torch.jit.trace(model, sig.example, check_trace=False)
        except Exception as err:  # noqa: BLE001 - the reason is recorded; scripting is tried next
            return None, f"tracing failed ({type(err).__name__}: {str(err).strip().splitlines()[0]})"
    tracer = [w for w in caught if issubclass(w.category, torch.jit.TracerWarning)]
    if tracer:
        where = "/".join(Path(tracer[0].filename).parts[-4:])
        return None, f"the tracer warned at {where}:{tracer[0].lineno}: {str(tracer[0].message).split('. ')[0]}"
    if not max_abs_diff(model, traced, sig.batches) <= atol:
        return None, "the trace differs from the eager model on real inputs"
    return traced, None


def _torchscript_save(model: nn.Module, sig: Signature, fh, atol: float) -> dict:
    traced, why_not = _trace(model, sig, atol)
    with warnings.catch_warnings():  # deprecated upstream in favour of torch.export; still the course's format
        warnings.simplefilter("ignore", FutureWarning)
        module = traced if traced is not None else torch.jit.script(model)
        buf = io.BytesIO()
        torch.jit.save(module, buf, _extra_files=sig.files)
    fh.write(_without_debug_records(buf.getvalue()))
    if traced is not None:
        return {
            "method": "trace",
            "why": "no data-dependent control flow: the tracer raised no warning and the "
            "trace equals the eager model on every batch checked",
        }
    return {"method": "script", "why": f"not traced: {why_not}"}


def _export_save(model: nn.Module, sig: Signature, fh, atol: float) -> None:
    with warnings.catch_warnings():
        # nn.LSTM keeps its weights in a plain list that it refills in forward: expected, the export is right
        warnings.filterwarnings(
            "ignore",
            r"The tensor attributes self\.rnn\._flat_weights\[.* were assigned during "
            r"export\. Such attributes must be registered as buffers",
            UserWarning,
        )
        program = torch.export.export(model, sig.example, dynamic_shapes=sig.dynamic)
    for module in program.graph_module.modules():
        if isinstance(module, torch.fx.GraphModule):
            for node in module.graph.nodes:
                node.meta.pop("stack_trace", None)  # absolute source paths
    torch.export.save(program, fh)


def _export_load(path: Path) -> Callable:
    return torch.export.load(path).module()


def _nodes(graph) -> Iterator:
    """Every node of an ONNX graph or function, subgraphs (If, Loop, Scan bodies) included."""
    for node in graph.node:
        yield node
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from _nodes(sub)


def _without_node_metadata(proto) -> None:
    """Drop the exporter's per-node metadata: stack traces with absolute paths, FX node names."""
    for graph in (proto.graph, *proto.functions):
        for node in _nodes(graph):
            del node.metadata_props[:]


def _onnx_save(model: nn.Module, sig: Signature, fh, atol: float) -> dict:
    names = list(inspect.signature(model.forward).parameters)[: len(sig.example)]
    for name in ("onnx_ir", "onnxscript"):  # the optimizer logs each node it folds or drops at INFO
        logging.getLogger(name).setLevel(logging.WARNING)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the exporter's progress and deprecation notes
        program = torch.onnx.export(
            model,
            sig.example,
            dynamo=True,
            dynamic_shapes=sig.dynamic,
            input_names=names,
            output_names=list(sig.outputs),
            verbose=False,
            optimize=True,
        )
    proto = program.model_proto
    _without_node_metadata(proto)
    fh.write(proto.SerializeToString(deterministic=True))
    return {"inputs": names, "outputs": list(sig.outputs)}


def _onnx_load(path: Path) -> Callable:
    session = onnx_session(path)
    names = [i.name for i in session.get_inputs()]

    def run(*args: torch.Tensor):
        out = [torch.from_numpy(o) for o in session.run(None, {n: a.numpy() for n, a in zip(names, args)})]
        return out[0] if len(out) == 1 else tuple(out)

    return run


# format -> (file name, save, load, how to use it); save(model, sig, fh, atol) may return facts for metadata.json
FORMATS: dict[str, tuple[str, Callable, Callable, str]] = {
    "torchscript": (
        "model.ts",
        _torchscript_save,
        load_torchscript,
        "TorchScript; load with torch.jit.load, or from C++ with LibTorch (cpp/course_model)",
    ),
    "torch_export": (
        "model.pt2",
        _export_save,
        _export_load,
        "torch.export ExportedProgram with dynamic batch; load with torch.export.load(path).module()",
    ),
    "onnx": (
        "model.onnx",
        _onnx_save,
        _onnx_load,
        "ONNX with dynamic batch; run with onnxruntime.InferenceSession (no torch needed)",
    ),
}


def _outputs(result: Any) -> list[torch.Tensor]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


@torch.no_grad()
def max_abs_diff(reference: Callable, candidate: Callable, batches: list[tuple[torch.Tensor, ...]]) -> float:
    """Largest |difference| between the outputs of `reference` and `candidate`, each called on every batch's args."""
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
                facts = save(model, sig, fh, atol) or {}
            loaded = load(tmp)
        except Exception as err:  # noqa: BLE001 - any exporter failure is reported, not hidden
            reason = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
            log.warning("%s: cannot export this model (%s); recorded in metadata.json", fmt, reason)
            return {"error": reason}
        diff = max_abs_diff(model, loaded, sig.batches)
        if not diff <= atol:
            raise ExportError(
                f"{fmt}: exported outputs differ from the eager model's by {diff:.3g} > "
                f"export.atol={atol:g}; not writing {path}"
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    samples = sum(len(args[0]) for args in sig.batches)
    log.info("%s: %s, max |diff| %.3g over %d samples", fmt, path, diff, samples)
    # The measured difference depends on the CPU's kernels, so only the bound is recorded:
    # metadata.json stays the same bytes on every machine.
    return {"file": name, "description": description, **facts, "parity": f"max |diff| <= {atol:g} on {samples} samples"}


def export_all(
    model: nn.Module, sig: Signature | dict[str, Signature], out_dir: str | Path, atol: float, metadata: dict[str, Any]
) -> dict:
    """Every format of FORMATS (each with its own signature, if `sig` maps formats to them), then
    metadata.json (last) with what each format gave."""
    model.eval()
    formats = {
        fmt: export_format(fmt, model, out_dir, sig[fmt] if isinstance(sig, dict) else sig, atol) for fmt in FORMATS
    }
    metadata = metadata | {"export": {"atol": atol, "torch": torch.__version__.split("+")[0], "formats": formats}}
    write_json(Path(out_dir) / "metadata.json", metadata)
    return metadata


def _image_preparation(shape: list[int]) -> dict[str, Any] | None:
    """How a new picture becomes an input like the training data's (pipeline.data.imageprep)."""
    if len(shape) != 3:
        return None
    return {
        "mode": "L" if shape[0] == 1 else "RGB",
        "size": list(shape[1:]),
        "resize": "shorter side, then centre crop",
    }


def classifier_metadata(ckpt: dict[str, Any]) -> dict[str, Any]:
    """What a user of an exported classifier needs: inputs, outputs, classes, how it was made."""
    spec = ckpt["spec"]
    inputs = {
        "image": {
            "shape": ["batch", *spec.get("input_shape", [])],
            "dtype": "float32",
            "range": [0.0, 1.0],
            "layout": "NCHW",
            "mean": spec.get("mean"),
            "std": spec.get("std"),
            "note": "pixels/255; the model normalizes with mean/std itself",
            "prepare": _image_preparation(spec.get("input_shape", [])),
        },
        "tabular": {
            "shape": ["batch", len(spec.get("features", []))],
            "dtype": "float32",
            "features": spec.get("features"),
            "note": "raw values; the model standardizes them itself",
        },
        "sentiment": {
            "shape": ["batch", spec.get("seq_length")],
            "dtype": "int64",
            "note": "word codes, left-padded with 0; 1 = unknown word; word i+2 of vocabulary",
            "tokenize": "lowercase, remove ASCII punctuation, split on whitespace; the first words only",
            "vocabulary": ckpt.get("vocab"),
        },
    }[ckpt["family"]]
    binary = spec.get("binary", False)
    output = (
        {
            "shape": ["batch"],
            "meaning": "score of class 1 ("
            + spec["classes"][1]
            + "); > 0 means class 1"
            + ("; sigmoid gives its probability" if spec.get("probabilistic", True) else ""),
        }
        if binary
        else {"shape": ["batch", len(spec["classes"])], "meaning": "logits; softmax gives probabilities"}
    )
    return {
        "model": ckpt["model"],
        "family": ckpt["family"],  # what `predict` reads to feed it (pipeline.schema.families)
        "arch": ckpt["arch"],
        "dataset": ckpt["dataset"],
        "classes": spec["classes"],
        "input": inputs,
        "output": output,
        "trained": {
            "params": ckpt["params"],
            "best_epoch": ckpt["epoch"],
            "val": ckpt["metrics"],
            **{k: ckpt[k] for k in ("augment", "label_map") if ckpt.get(k)},
        },
    }


def export_classifier(
    checkpoint: str | Path, test_inputs: torch.Tensor, out_dir: str | Path, atol: float, batch_size: int
) -> dict:
    """Export a checkpoint in every format, checked on batches of `test_inputs`; returns metadata.json's contents."""
    model, ckpt = load_checkpoint(checkpoint)
    return export_all(model, batch_signature(test_inputs, batch_size), out_dir, atol, classifier_metadata(ckpt))
