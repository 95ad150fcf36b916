"""Deployment artifacts of the character model: TorchScript, torch.export and ONNX of
model(x, h, c) -> (logits, h, c), checked on windows of the validation text (pipeline.deployment.export does
the writing and the parity check). model.ts carries the vocabulary and the state's shape as extra
files, which is all the C++ program (cpp/course_model generate) needs to write text.

The signature is the same for every `cell`: a GRU or vanilla RNN returns c unchanged (see
pipeline.models.charrnn), so the C++ program, ONNX Runtime and `predict` run every cell with the
same code; metadata.json says which cell it is."""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline.deployment.export import Signature, export_all
from pipeline.schema.charrnn import Params as CharRNNParams
from pipeline.weights.checkpoint import load_checkpoint


def export_charrnn(checkpoint: str | Path, tokens: dict[str, torch.Tensor], out_dir: str | Path, atol: float) -> dict:
    """TorchScript, torch.export and ONNX of model(x, h, c), checked on windows of the validation
    text; metadata carries the vocabulary."""
    model, ckpt = load_checkpoint(checkpoint)
    p = CharRNNParams.model_validate(ckpt["params"])
    val = tokens["val"].long()
    rows = min(4, (len(val) - 1) // p.seq_length)
    x = val[: rows * p.seq_length].view(rows, p.seq_length)
    h, c = model.init_state(rows)
    dyn = torch.export.Dim.DYNAMIC
    ex_h, ex_c = model.init_state(2)
    # TorchScript takes any batch and length. torch.export specializes the RNN's sequence length,
    # so the .pt2 and the .onnx take one character per call (text generation feeds them one at a time); its
    # parity is checked step by step from the states the eager model reaches on real text.
    steps = []
    with torch.no_grad():
        sh, sc = h, c
        for t in range(8):
            steps.append((x[:, t : t + 1], sh, sc))
            _, sh, sc = model(x[:, t : t + 1], sh, sc)
    outputs = ("logits", "h_next", "c_next")  # ONNX names must differ from the inputs h, c
    files = {
        "vocabulary.codepoints": " ".join(str(ord(ch)) for ch in ckpt["spec"]["chars"]),
        "state.shape": f"{p.layers} {p.hidden}",
    }
    step = Signature((torch.zeros(2, 1, dtype=torch.int64), ex_h, ex_c), ({0: dyn}, {1: dyn}, {1: dyn}), steps, outputs)
    signatures = {
        "torchscript": Signature(
            (torch.zeros(2, 5, dtype=torch.int64), ex_h, ex_c),
            (),
            [(x, h, c), (x[:1, :7], h[:, :1], c[:, :1])],
            outputs,
            files,
        ),
        "torch_export": step,
        "onnx": step,
    }
    state = (
        "LSTM state"
        if p.cell == "lstm"
        else f"{p.cell.upper()} state h; c is returned unchanged (only an LSTM has a cell state)"
    )
    metadata = {
        "model": ckpt["model"],
        "family": ckpt["family"],  # what `predict` reads to feed it (pipeline.schema.families)
        "arch": "charrnn",
        "cell": p.cell,
        "dataset": ckpt["dataset"],
        "vocabulary": ckpt["spec"]["chars"],
        "input": {
            "x": "int64 (batch, time): indices into vocabulary; time is 1 for model.pt2 and model.onnx",
            "h, c": f"float32 ({p.layers}, batch, {p.hidden}): {state}; zeros to start",
        },
        "output": {"logits": "(batch, time, vocabulary): next-character scores", "h, c": "the new state"},
        "trained": {
            "params": ckpt["params"],
            "best_epoch": ckpt["epoch"],
            "val": ckpt["metrics"],
            "sequence_length": p.seq_length,
        },
    }
    return export_all(model, signatures, out_dir, atol, metadata)
