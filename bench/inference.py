"""`make bench`, 6: inference. Per exported classifier, the median seconds per call at batch 1 and
samples/s at batch 256 for four runtimes, all on the CPU with the same thread count: Python eager
(the checkpoint's model under torch.no_grad, the baseline), TorchScript from Python (torch.jit.load),
C++ LibTorch (`course_model bench`) and ONNX Runtime. Then a cold `predict` on one image (a fresh
process: ONNX Runtime, no torch) beside `predict --runtime torch` and a plain torch script doing the
same job.

    python bench/inference.py [--models mlp cnn ...|all] [--threads N] [--seconds S] [--cold-runs N] [--update FILE]

Standalone it prints the table; --update FILE replaces FILE's "inference" section (bench/results.json),
leaving the rest of it as it was. `make bench` runs it as part 6 (bench/speed.py)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path
from typing import Any, Callable

import numpy as np

from pipeline.core.errors import CppError

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # run as a script: `bench.` and `pipeline.` import from the root

import torch  # noqa: E402

RUNTIMES = ("eager", "torchscript", "cpp", "onnxruntime")  # eager first: the baseline (bench/report.py names them)
DEFAULT_MODELS = ("mlp", "cnn", "logreg", "sentiment")  # one of each family; the others with --models all
BATCHES = (1, 256)


def classifiers(exports: Path) -> list[str]:
    """Export folders of classifiers (model.ts and metadata.json; not the character model)."""
    if not exports.is_dir():
        return []
    return sorted(
        p.name
        for p in exports.iterdir()
        if (p / "model.ts").is_file()
        and (p / "metadata.json").is_file()
        and json.loads((p / "metadata.json").read_text()).get("family") != "charrnn"  # as predict reads it
    )


def example_inputs(meta: dict[str, Any], batch: int, seed: int = 0) -> np.ndarray:
    """A batch shaped and typed as metadata.json's input: word codes, pixels in their range, or
    standardized table rows."""
    inp = meta["input"]
    shape = (batch, *inp["shape"][1:])
    rng = np.random.default_rng(seed)
    if inp["dtype"].startswith("int"):
        return rng.integers(0, len(inp.get("vocabulary", [])) + 2, shape).astype(inp["dtype"])
    low, high = inp.get("range", (None, None))
    x = rng.uniform(low, high, shape) if low is not None else rng.standard_normal(shape)
    return x.astype(inp["dtype"])


def median_calls(
    calls: dict[str, Callable[[], Any]], seconds: float, rounds: int = 5, warmup: int = 5
) -> dict[str, float]:
    """Median seconds of one call of each of `calls`, every call timed on its own, about `seconds`
    each. They take turns, `rounds` windows each, so a busy moment of the shared machine hits all of
    them alike; `warmup` calls first (TorchScript's executor optimizes its graph in the first calls)."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            end = time.perf_counter() + seconds / rounds
            while True:
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
                if start > end:
                    break
    return {name: statistics.median(t) for name, t in times.items()}


def onnx_session(path: Path, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def cpp_seconds(binary: Path, model_ts: Path, x: np.ndarray, repeat: int, threads: int) -> float:
    """`course_model bench`: the median of `repeat` timed calls after one warm-up, in C++."""
    from pipeline.core.io import save_torch

    lib = str(Path(torch.__file__).resolve().parent / "lib")  # as pipeline.deployment.cpp runs it
    env = os.environ | {
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "LD_LIBRARY_PATH": os.pathsep.join(filter(None, [lib, os.environ.get("LD_LIBRARY_PATH")])),
    }
    with tempfile.TemporaryDirectory() as tmp:
        save_torch(torch.from_numpy(x), Path(tmp) / "inputs.pt")
        done = subprocess.run(
            [str(binary), "bench", str(model_ts), str(Path(tmp) / "inputs.pt"), "--repeat", str(repeat)],
            capture_output=True,
            text=True,
            env=env,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{binary} bench {model_ts} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return float(done.stdout.split()[-1])


def model_rows(
    export: Path,
    checkpoint: Path,
    binary: Path | None,
    threads: int,
    seconds: float,
    batches: tuple[int, ...] = BATCHES,
) -> list[dict]:
    """One row per batch size: seconds per call, samples/s and speed against eager, per runtime
    (None where a runtime has no model file or no program)."""
    from pipeline.weights.checkpoint import load_checkpoint

    meta = json.loads((export / "metadata.json").read_text())
    eager = load_checkpoint(checkpoint)[0].eval() if checkpoint.is_file() else None
    with warnings.catch_warnings():  # torch.jit is deprecated upstream; model.ts is still the course's format
        warnings.simplefilter("ignore", FutureWarning)
        script = torch.jit.load(str(export / "model.ts"), map_location="cpu").eval()
    session = onnx_session(export / "model.onnx", threads) if (export / "model.onnx").is_file() else None
    rows = []
    for batch in batches:
        x = example_inputs(meta, batch)
        t = torch.from_numpy(x)
        calls = {"torchscript": lambda: script(t)}
        if eager is not None:
            calls["eager"] = lambda: eager(t)
        if session is not None:
            feed = {session.get_inputs()[0].name: x}
            calls["onnxruntime"] = lambda: session.run(None, feed)
        with torch.no_grad():
            s = dict.fromkeys(RUNTIMES) | median_calls(calls, seconds)
        if binary is not None:  # its own process: as many calls as TorchScript from Python made in `seconds`
            repeat = max(5, min(20000, round(seconds / s["torchscript"])))
            s["cpp"] = cpp_seconds(binary, export / "model.ts", x, repeat, threads)
        base = s["eager"]
        rows.append(
            {
                "model": export.name,
                "input": f"({batch}, {', '.join(map(str, x.shape[1:]))}) {x.dtype}",
                "batch": batch,
                "seconds_per_call": s,
                "samples_per_s": {k: None if v is None else round(batch / v, 1) for k, v in s.items()},
                "vs_eager": {k: None if v is None or base is None else round(base / v, 2) for k, v in s.items()},
            }
        )
        print(
            "  "
            + f"{export.name}, batch {batch}: "
            + ", ".join(
                f"{k} {v * 1e6:,.0f} µs" + (f" ({base / v:.1f}×)" if base and k != "eager" else "")
                for k, v in s.items()
                if v is not None
            ),
            flush=True,
        )
    return rows


def course_model_binary(build_dir: Path) -> tuple[Path | None, str]:
    """build/course_model (the pipeline builds it), else built into `build_dir`; or why neither."""
    built = ROOT / "build" / "course_model"
    if built.is_file() and os.access(built, os.X_OK):
        return built, str(built.relative_to(ROOT))
    from pipeline.deployment.cpp import build

    try:
        return build(ROOT / "cpp", build_dir / "course_model"), "cpp/ built for this run"
    except CppError as err:
        return None, f"not measured: {str(err).splitlines()[0]}"


# --- a cold `predict` ----------------------------------------------------------------------------

# What a course script does to classify one picture with the exported model: torch, PIL, one call.
PLAIN_TORCH = """import sys
import numpy as np, torch
from PIL import Image
model_path, image_path, mode, height, width = sys.argv[1:]
model = torch.jit.load(model_path).eval()
img = Image.open(image_path).convert(mode).resize((int(width), int(height)), Image.BILINEAR)
a = np.asarray(img, np.float32) / 255
x = torch.from_numpy(a if a.ndim == 3 else a[..., None]).permute(2, 0, 1)[None]
with torch.no_grad():
    top = model(x).softmax(1).topk(3)
print(top.indices[0].tolist())
"""


def gradient_png(path: Path, size: int = 64) -> Path:
    """A square RGB gradient: an image file of a camera's kind, without reading one from disk."""
    from PIL import Image

    ramp = np.linspace(0, 255, size, dtype=np.float32)
    rgb = np.stack([np.tile(ramp, (size, 1)), np.tile(ramp[:, None], (1, size)), np.full((size, size), 96.0)], -1)
    Image.fromarray(rgb.astype(np.uint8), "RGB").save(path)
    return path


def predict_command() -> Path | None:
    for candidate in (Path(sys.executable).with_name("predict"), ROOT / ".venv" / "bin" / "predict"):
        if candidate.is_file():
            return candidate
    return None


def imports_torch(command: list[str]) -> bool:
    """Whether the Python command imports torch (any torch module), from `python -X importtime`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *command], cwd=ROOT, capture_output=True, text=True, check=True
    )
    names = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    return any(n == "torch" or n.startswith("torch.") for n in names)


def cold_predict(export: Path, runs: int = 3) -> dict:
    """Wall seconds (median of `runs`) of a fresh process classifying one PNG: `predict` (ONNX
    Runtime), `predict --runtime torch` and the plain torch script, taken in turn so that a busy
    moment of the machine hits all three alike. One untimed round first fills the disk cache."""
    predict = predict_command()
    if predict is None:
        return {"skipped": "no `predict` command in the environment (make setup installs it)"}
    from pipeline.deployment.predict import image_prepare

    meta = json.loads((export / "metadata.json").read_text())
    mode, (height, width) = image_prepare(meta)
    with tempfile.TemporaryDirectory() as tmp:
        image = gradient_png(Path(tmp) / "gradient.png")
        commands = {
            "predict_onnx": [str(predict), str(export), str(image)],
            "predict_torch": [str(predict), "--runtime", "torch", str(export), str(image)],
            "plain_torch": [
                sys.executable,
                "-c",
                PLAIN_TORCH,
                str(export / "model.ts"),
                str(image),
                mode,
                str(height),
                str(width),
            ],
        }
        times: dict[str, list[float]] = {k: [] for k in commands}
        top: dict[str, str] = {}
        for round_ in range(runs + 1):
            for name, cmd in commands.items():
                start = time.perf_counter()
                done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
                elapsed = time.perf_counter() - start
                if done.returncode != 0:  # recorded, not raised: parts 1-5 of make bench are kept
                    why = f"`{' '.join(cmd[:4])}...` failed (exit {done.returncode}): {done.stderr.strip()[-300:]}"
                    print(f"  cold predict not measured: {why}", flush=True)
                    return {"skipped": why}
                if round_:
                    times[name].append(elapsed)
                else:  # the top class each one found: the three do the same job
                    out = done.stdout.strip()
                    top[name] = (
                        meta["classes"][json.loads(out)[0]]
                        if name == "plain_torch"
                        else out.removeprefix(f"{image}: ").split(" (")[0]
                    )
        onnx_torch = imports_torch(commands["predict_onnx"])
    result = {
        "model": export.name,
        "image": "a generated 64x64 RGB gradient PNG",
        "runs": runs,
        **{f"{k}_s": round(statistics.median(v), 3) for k, v in times.items()},
        "predict_onnx_imports_torch": onnx_torch,
        "top_class": top,
    }
    print(
        f"  cold predict ({export.name}, one image): ONNX Runtime {result['predict_onnx_s']:.2f} s "
        f"(imports torch: {'yes' if onnx_torch else 'no'}), --runtime torch {result['predict_torch_s']:.2f} s, "
        f"plain torch script {result['plain_torch_s']:.2f} s",
        flush=True,
    )
    return result


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # not Linux
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    import onnxruntime

    return {
        "cpu": cpu_name(),
        "cpu_cores": os.cpu_count(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "python": platform.python_version(),
    }


def inference(
    models: list[str] | tuple[str, ...] | None = DEFAULT_MODELS,
    threads: int = 1,
    seconds: float = 0.5,
    cold_runs: int = 3,
    exports: Path = ROOT / "exports",
    checkpoints: Path = ROOT / "models",
    binary: Path | None = None,
    cold_model: str | None = "cnn",
) -> dict:
    """Part 6's results: `models` (None: every classifier in `exports`) on `threads` threads in
    every runtime, and a cold `predict` of `cold_model` (None: skipped)."""
    found = classifiers(exports)
    names = found if models is None else [m for m in models if m in found]
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cpp, cpp_note = (binary, str(binary)) if binary is not None else course_model_binary(Path(tmp))
            rows = [
                r
                for name in names
                for r in model_rows(exports / name, checkpoints / name / "model.pt", cpp, threads, seconds)
            ]
    finally:
        torch.set_num_threads(before)
    result = {
        "date": date.today().isoformat(),
        "machine": machine(),
        "threads": threads,
        "seconds_per_figure": seconds,
        "cpp": cpp_note,
        "models_not_found": sorted(set(models or []) - set(found)),
        "rows": rows,
    }
    if not found:
        result["note"] = f"no exported classifiers in {exports}: `make repro` (or `dvc pull`) writes them"
    if cold_model and cold_model in found:
        result["cold_predict"] = cold_predict(exports / cold_model, cold_runs)
    return result


def main() -> None:
    from bench.report import HEADER, cold_predict_rows, inference_table
    from pipeline.core.io import atomic_open

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--models",
        nargs="+",
        default=list(DEFAULT_MODELS),
        help=f"export folders to measure, or `all` (default: {' '.join(DEFAULT_MODELS)})",
    )
    ap.add_argument("--threads", type=int, default=1, help="threads for every runtime (default 1, as make bench)")
    ap.add_argument("--seconds", type=float, default=0.5, help="time per figure (default 0.5)")
    ap.add_argument("--cold-runs", type=int, default=3, help="runs of each cold command (default 3)")
    ap.add_argument("--update", type=Path, help="write the results into this results.json's `inference` section")
    args = ap.parse_args()
    results = inference(None if args.models == ["all"] else args.models, args.threads, args.seconds, args.cold_runs)
    results["command"] = " ".join(["python bench/inference.py", *sys.argv[1:]])
    cold = results.get("cold_predict")
    print(f"\n{results['date']}, {results['machine']}\n\n{inference_table(results)}\n")
    print("\n".join(HEADER + cold_predict_rows(cold)) if cold and "skipped" not in cold else cold)
    if args.update:
        whole = json.loads(args.update.read_text()) if args.update.exists() else {}
        with atomic_open(args.update) as fh:
            fh.write(json.dumps(whole | {"inference": results}, indent=2) + "\n")
        print(f"\nwrote the inference section of {args.update}")


if __name__ == "__main__":
    main()
