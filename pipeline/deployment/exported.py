"""An export folder, opened from itself alone (metadata.json and a model file; no params.yaml,
no checkpoint): what kind of model it holds, and the model run with ONNX Runtime (model.onnx,
no torch needed) or with torch (model.ts). torch is imported only when its runtime is chosen:
`import torch` alone takes longer than a whole prediction with ONNX Runtime."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.core.errors import ExportFolderError
from pipeline.schema.families import EXPORTED
from pipeline.weights.runtimes import load_torchscript, onnx_session

RUNTIMES = ("auto", "onnx", "torch")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class Export:
    folder: Path
    meta: dict[str, Any]
    kind: str  # its family as metadata.json records it: one of pipeline.schema.families.EXPORTED
    onnx: Path | None  # usable model.onnx, if any
    torchscript: Path | None  # usable model.ts, if any
    onnx_missing: str  # why there is no usable model.onnx ("" when there is one)


def _model_file(folder: Path, entry: dict | None) -> tuple[Path | None, str]:
    """The format's file if metadata.json says it was written and it is there; else why not."""
    if entry is None:
        return None, "metadata.json records no such export; rerun the export stage"
    if "file" not in entry:
        return None, f"the exporter failed: {entry.get('error', 'no file recorded')}"
    path = folder / entry["file"]
    return (path, "") if path.is_file() else (None, f"{path} is missing")


def read_export(folder: str | Path) -> Export:
    """The export in `folder`: metadata, kind and usable model files; an ExportFolderError says what to rerun."""
    folder = Path(folder)
    meta_path = folder / "metadata.json"
    if not folder.is_dir():
        raise ExportFolderError(
            f"{folder}: no such folder; pass an export folder such as exports/cnn (`make repro` writes them)"
        )
    if not meta_path.is_file():
        raise ExportFolderError(
            f"{folder}: not an export folder (no metadata.json); pass exports/<model>, which `make repro` writes"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ExportFolderError(
            f"{meta_path}: not readable JSON ({err}); rerun its export stage (`make repro`)"
        ) from None
    kind = meta.get("family") if isinstance(meta, dict) else None
    if kind not in EXPORTED:
        raise ExportFolderError(
            f"{meta_path}: family {kind!r} is not one predict knows ({', '.join(EXPORTED)}); an export "
            "written before metadata.json named its family, or not one of this pipeline's: rerun `make repro`"
        )
    formats = meta.get("export", {}).get("formats", {})
    onnx, why = _model_file(folder, formats.get("onnx"))
    torchscript, _ = _model_file(folder, formats.get("torchscript", {"file": "model.ts"}))
    if onnx is None and torchscript is None:
        raise ExportFolderError(
            f"{folder}: no model file (model.onnx or model.ts) beside metadata.json; rerun `make repro` (or `dvc pull`)"
        )
    return Export(folder, meta, kind, onnx, torchscript, why)


class OnnxModel:
    """model.onnx in an ONNX Runtime session: numpy arrays in, numpy arrays out, in the order of
    the model's inputs and outputs."""

    runtime = "onnx"

    def __init__(self, path: Path, device: str) -> None:
        import onnxruntime

        cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
        if device == "cuda" and not cuda:
            raise ExportFolderError(
                "--device cuda: this ONNX Runtime has no CUDA provider; use --runtime torch, or install onnxruntime-gpu"
            )
        providers = (("CUDAExecutionProvider",) if cuda and device != "cpu" else ()) + ("CPUExecutionProvider",)
        try:
            self.session = onnx_session(path, providers)
        except Exception as err:  # noqa: BLE001 - ONNX Runtime raises its own untyped errors
            raise ExportFolderError(
                f"{path}: ONNX Runtime cannot load it ({str(err).strip().splitlines()[0]}); "
                "rerun its export stage, or use --runtime torch"
            ) from None
        self.device = "cuda" if self.session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, dict(zip(self.inputs, arrays, strict=True)))


class TorchModel:
    """model.ts loaded with torch.jit.load on the chosen device: numpy arrays in and out."""

    runtime = "torch"

    def __init__(self, path: Path, device: str) -> None:
        import torch

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        elif device == "cuda" and not torch.cuda.is_available():
            raise ExportFolderError("--device cuda: torch finds no CUDA GPU here; use --device cpu")
        self.torch, self.device = torch, device
        try:
            self.module = load_torchscript(path, device).eval()
        except (RuntimeError, ValueError) as err:
            raise ExportFolderError(
                f"{path}: torch cannot load it ({str(err).strip().splitlines()[0]}); rerun its export stage"
            ) from None

    def tensors(self, *arrays: np.ndarray) -> list:
        """numpy arrays as torch tensors on the model's device."""
        return [self.torch.from_numpy(np.ascontiguousarray(a)).to(self.device) for a in arrays]

    def __call__(self, *arrays: np.ndarray) -> list[np.ndarray]:
        with self.torch.inference_mode():
            out = self.module(*self.tensors(*arrays))
        return [o.cpu().numpy() for o in (out if isinstance(out, (tuple, list)) else (out,))]


def open_model(export: Export, runtime: str = "auto", device: str = "auto") -> OnnxModel | TorchModel:
    """ONNX Runtime when model.onnx is usable (unless the GPU is asked for and ONNX Runtime has
    none: then torch); model.ts with torch otherwise, or when asked for."""
    if runtime == "auto":
        runtime = "onnx" if export.onnx is not None and (device != "cuda" or _onnx_has_cuda()) else "torch"
        if runtime == "torch" and export.torchscript is None:
            runtime = "onnx"  # let OnnxModel say why the GPU is out of reach
    if runtime == "onnx":
        if export.onnx is None:
            raise ExportFolderError(
                f"{export.folder}: no usable model.onnx ({export.onnx_missing}); use --runtime torch"
            )
        return OnnxModel(export.onnx, device)
    if export.torchscript is None:
        raise ExportFolderError(f"{export.folder}: no usable model.ts; use --runtime onnx")
    return TorchModel(export.torchscript, device)


def _onnx_has_cuda() -> bool:
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


# --- character model: text generation -------------------------------------------------------


def generate(
    model: OnnxModel | TorchModel, meta: dict[str, Any], prime: str, length: int, top_k: int, seed: int
) -> str:
    """`length` characters after `prime`, each drawn from the top_k most likely. With torch this
    is pipeline.models.charrnn.sample's own arithmetic and random stream (a seed gives its text); ONNX
    Runtime draws with numpy, so the same seed gives other text there."""
    chars = meta["vocabulary"]
    index = {ch: i for i, ch in enumerate(chars)}
    unknown = sorted({ch for ch in prime if ch not in index})
    if not prime or unknown:
        raise ExportFolderError(
            f"--prime {prime!r}: "
            + (f"characters the model's vocabulary lacks: {unknown}; " if unknown else "empty; ")
            + "start with characters of the text it was trained on"
        )
    p = meta["trained"]["params"]
    # h and c, zeros, for every cell (metadata.json's "cell"): a GRU or RNN gives c back unchanged
    state = [np.zeros((p["layers"], 1, p["hidden"]), np.float32) for _ in range(2)]
    codes = [index[ch] for ch in prime]
    k = min(top_k, len(chars))
    if isinstance(model, TorchModel):
        return prime + "".join(chars[i] for i in _generate_torch(model, codes, state, length, k, seed))
    return prime + "".join(chars[i] for i in _generate_onnx(model, codes, state, length, k, seed))


def _generate_torch(
    model: TorchModel, codes: list[int], state: list[np.ndarray], length: int, k: int, seed: int
) -> list[int]:
    from pipeline.models.charrnn import top_k_choice  # here: `predict` on ONNX never loads torch

    torch = model.torch
    gen = torch.Generator().manual_seed(seed)
    h, c = model.tensors(*state)
    out = []
    with torch.inference_mode():
        logits, h, c = model.module(torch.tensor([codes], device=model.device), h, c)
        for _ in range(length):
            probs = torch.softmax(logits[0, -1].cpu(), dim=-1)  # on the CPU, as sample() does, for its random stream
            choice = top_k_choice(probs, k, gen)
            out.append(choice)
            logits, h, c = model.module(torch.tensor([[choice]], device=model.device), h, c)
    return out


def _generate_onnx(
    model: OnnxModel, codes: list[int], state: list[np.ndarray], length: int, k: int, seed: int
) -> list[int]:
    rng = np.random.default_rng(seed)
    h, c = state
    for code in codes:  # model.onnx takes one character per call
        logits, h, c = model(np.array([[code]], np.int64), h, c)
    out = []
    for _ in range(length):
        scores = logits[0, -1].astype(np.float64)
        probs = np.exp(scores - scores.max())
        top_i = np.argsort(-probs, kind="stable")[:k]
        top_p = probs[top_i] / probs[top_i].sum()
        choice = int(top_i[rng.choice(k, p=top_p)])
        out.append(choice)
        logits, h, c = model(np.array([[choice]], np.int64), h, c)
    return out
