"""The report page (stage report): every model's metrics beside the course's published figures, its
learning curves and every picture the pipeline drew for it, in one self-contained HTML file (images
inlined, no script, no network) whose bytes depend only on its inputs.

What it shows is found, not listed: the models are params.yaml's entries, the pictures are the PNG
files in each model's folder. A model without its metrics file is an error; a missing picture is
simply left out."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.core.errors import ConfigError, DataError
from pipeline.core.io import atomic_open
from pipeline.report.course import COURSE, RATES, SPLITS, Reference
from pipeline.report.figures import Picture, draw_curves, picture
from pipeline.schema.families import FAMILIES

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
LIMIT = 5_000_000  # bytes: a page a browser opens at once and a mail can carry


METRICS = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "loss": "loss",
    "perplexity": "perplexity",
}  # their order in the tables; anything else follows, sorted
FLAGS = {"synthetic_data", "pretrained_vgg"}  # 0 or 1 in the metrics (numbers, for `dvc metrics diff`)
# Pictures a model's folder may hold, in the order shown; any other PNG follows under its own name.
CAPTIONS = {
    "stylized": "the content photo redrawn in the style of the style photo",
    "confusion": "confusion matrix on the test split (rows: actual class, columns: predicted)",
    "predictions": "test images with the exported model's top predictions (wrong ones in red)",
    "boundary": "the learned decision boundary, with the training, validation and test rows",
    "filters": "the first layer's weights, drawn as images",
    "feature_maps": "what each layer makes of a few test images",
}
RUNTIMES = {
    "eager": "PyTorch, eager",
    "onnxruntime": "ONNX Runtime (model.onnx)",
    "cpp": "C++ program, LibTorch (model.ts)",
}
DEPLOY_COLUMNS = {
    "accuracy": "test accuracy",
    "max_abs_diff": "largest |difference| from eager",
    "same_greedy_text": "same greedy text",
    "same_sampled_text": "same sampled text",
}
GATES = {"AND": "AND", "OR": "OR", "NOT": "NOT", "XOR": "XOR"}  # the rows' order, as the picture has them
GATE_COLUMNS = {
    "truth_table_accuracy": "truth table",
    "heldout_accuracy": "held-out points",
    "val_loss": "validation loss",
    "best_epoch": "best epoch",
}


@dataclass(frozen=True)
class Inputs:
    """Where the stage reads (its cmd names each): folders of per-model files."""

    metrics: Path  # <model>.json, required
    deploy: Path  # <model>.json
    gates: Path  # <gate model>.json, required
    curves: Path  # <model>/<name>.csv
    style_curves: Path  # <style model>.csv
    pictures: Path  # <model>/*.png, <model>/samples.txt
    gate_plots: Path  # <gate model>.png
    filters: Path  # *.png
    augmented: Path  # <dataset>/preview.png


def fmt(key: str, value: Any) -> str:
    """A value as the page shows it: flags yes/no, rates in %, integers with separators, floats to 4 digits."""
    if isinstance(value, bool) or (key in FLAGS and value in (0, 1)):
        return "yes" if value else "no"
    if isinstance(value, (int, float)) and key.removesuffix("_macro") in RATES:
        return f"{100 * value:.2f} %"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)


def label(key: str) -> str:
    """A metric key as the page names it; a _macro suffix becomes (macro average)."""
    base = key.removesuffix("_macro")
    return METRICS.get(base, base.replace("_", " ")) + (" (macro average)" if key != base else "")


def order(keys: Any, known: dict) -> list:
    """`keys` in the order of `known` (compared without a _macro suffix), the others after, sorted."""
    rank = {k: i for i, k in enumerate(known)}
    return sorted(keys, key=lambda k: (rank.get(k.removesuffix("_macro"), len(rank)), k))


def read_metrics(path: Path, writer: str | None) -> dict | None:
    """A metrics JSON object; None if absent and optional (`writer` None), else a DataError naming the stage."""
    if not path.is_file():
        if writer is None:
            return None
        raise DataError(f"{path} not found: stage {writer} writes it (dvc repro {writer})")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, ValueError) as err:
        raise DataError(f"{path} is not valid JSON ({err}); rerun the stage that writes it") from None
    if not isinstance(data, dict):
        raise DataError(f"{path} should hold a JSON object; rerun the stage that writes it")
    return data


def entries(raw: Any, section: str) -> dict[str, dict]:
    """A section's entries as params.yaml has them (the stages that train them validate them)."""
    found = raw.get(section) if isinstance(raw, dict) else None
    if not isinstance(found, dict) or not all(isinstance(v, dict) for v in found.values()):
        raise ConfigError(f"{section}: expected a mapping of model names to their settings (make check says more)")
    return found


def metrics_table(data: dict, ref: Reference | None) -> dict | None:
    """Rows of metrics by split (validation, test), with the course's figure in a column of its own."""
    splits = [s for s in SPLITS if isinstance(data.get(s), dict)]
    if not splits:
        return None
    keys = order({k for s in splits for k in data[s]}, METRICS)
    columns = ["metric", *(SPLITS[s] for s in splits)] + ([f"course, {SPLITS[ref.split]}"] if ref else [])
    rows = [
        [
            label(k),
            *(fmt(k, data[s][k]) if k in data[s] else "—" for s in splits),
            *([ref.shown() if k == ref.metric else ""] if ref else []),
        ]
        for k in keys
    ]
    return {"columns": columns, "rows": rows, "ref": len(columns) - 1 if ref else None}


def flat_table(data: dict, labels: dict, first: str, names: dict) -> dict:
    """A table of the sub-objects of `data`, one row each (in the order of `names`, which label them),
    and their keys (columns, in the order of `labels`)."""
    rows = {k: data[k] for k in order(data, names) if isinstance(data[k], dict)}
    keys = order({c for v in rows.values() for c in v}, labels)
    return {
        "columns": [first, *(labels.get(k, label(k)) for k in keys)],
        "rows": [[names.get(name, name), *(fmt(k, v[k]) if k in v else "—" for k in keys)] for name, v in rows.items()],
        "ref": None,
    }


def bounds_shown(deploy: dict) -> dict:
    """A runtime whose kernels cannot be pinned records a bound of its difference (pipeline.deployment.deploy.
    check_diff): shown in the same column as the others' figures, as `≤ bound`."""
    return {
        name: {
            ("max_abs_diff" if k == "max_abs_diff_at_most" else k): f"≤ {v:g}" if k == "max_abs_diff_at_most" else v
            for k, v in entry.items()
        }
        if isinstance(entry, dict)
        else entry
        for name, entry in deploy.items()
    }


def notes(data: dict) -> list[str]:
    """The scalars beside the tables: best epoch, sample counts, flags."""
    return [f"{label(k)}: {fmt(k, v)}" for k, v in sorted(data.items()) if not isinstance(v, dict)]


def folder_pictures(folder: Path, model: str) -> list[Picture]:
    """Every PNG in `folder`, the known kinds first (CAPTIONS' order), then the others by name."""
    rank = {stem: i for i, stem in enumerate(CAPTIONS)}
    found = sorted(folder.glob("*.png"), key=lambda p: (rank.get(p.stem, len(rank)), p.stem)) if folder.is_dir() else []
    pictures = [
        picture(
            p.read_bytes(),
            str(p),
            f"{model}: {CAPTIONS.get(p.stem, p.stem.replace('_', ' '))}",
            f"{p.stem.replace('_', ' ')} of {model}",
        )
        for p in found
    ]
    return sorted(pictures, key=lambda p: p.wide)  # the narrow ones first, side by side


def curves_picture(files: list[tuple[Path, str]], model: str, best: Any) -> Picture | None:
    """The curves (CSV, what it holds) side by side, loss first; `best`: the epoch kept, if any."""
    files = sorted(files, key=lambda f: (f[1] != "loss", f[1]))
    if not files:
        return None
    best = best if isinstance(best, (int, float)) and not isinstance(best, bool) else None
    what = " and ".join(name for _, name in files)
    title = f"{model}: {'learning curves' if {'loss', 'accuracy'} & {name for _, name in files} else what}"
    return picture(
        draw_curves(files, title, best),
        title,
        title + (f" (dotted line: the epoch kept, {best})" if best is not None else ""),
        f"{model}: {what}, per epoch or step",
    )


def comparison(name: str, data: dict, dataset: str, data_key: str) -> dict | None:
    """The course's figure beside this run's same measure, or None where the course has none."""
    ref = COURSE.get(name)
    if ref is None:
        return None
    mine = data.get(ref.split, {}).get(ref.metric) if isinstance(data.get(ref.split), dict) else None
    return {
        "course": f"{ref.figure()} on {ref.data} ({ref.setup})",
        "source": ref.source,
        "run": f"{fmt(ref.metric, mine)} on {dataset}" if mine is not None else f"no {ref.measure()}",
        "data_key": data_key,
    }


def model_section(section: str, name: str, entry: dict, data: dict, inputs: Inputs) -> dict:
    """Everything the page shows of one model: metrics beside the course's, deployment check, curves,
    pictures, samples, settings and its summary row."""
    family = FAMILIES[section]
    dataset = str(entry.get(family.data_key))
    deploy = read_metrics(inputs.deploy / f"{name}.json", None)
    curves = [(p, p.stem) for p in (inputs.curves / name).glob("*.csv")] if (inputs.curves / name).is_dir() else []
    if (style_curve := inputs.style_curves / f"{name}.csv").is_file():
        curves.append((style_curve, "losses"))
    samples = inputs.pictures / name / "samples.txt"
    has_splits = any(isinstance(data.get(s), dict) for s in SPLITS)
    return {
        "anchor": f"model-{name}",
        "name": name,
        "section": section,
        "family": family.title,
        "arch": entry.get("arch"),
        "dataset": dataset,
        "data_key": f"{section}.{name}.{family.data_key}",
        "comparison": comparison(name, data, dataset, f"{section}.{name}.{family.data_key}"),
        "metrics": metrics_table(data, COURSE.get(name)),
        "values": None
        if has_splits
        else {
            "columns": ["quantity", "value"],
            "ref": None,
            "rows": [[label(k), fmt(k, v)] for k, v in sorted(data.items())],
        },
        "notes": notes(data) if has_splits else [],
        "deploy": flat_table(bounds_shown(deploy), DEPLOY_COLUMNS, "runtime", RUNTIMES) if deploy else None,
        "deploy_notes": notes(deploy) if deploy else [],
        "curves": curves_picture(curves, name, data.get("best_epoch")),
        "pictures": folder_pictures(inputs.pictures / name, name),
        "samples": samples.read_text(errors="replace") if samples.is_file() else None,
        "settings": [(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for k, v in entry.items()],
        "summary": summary_row(name, section, dataset, data),
    }


def summary_row(name: str, section: str, dataset: str, data: dict) -> list[str] | None:
    """The model's row of the summary table (accuracies, validation loss, the course's figure and this run's);
    None without split metrics."""
    val, test = (data.get(s) if isinstance(data.get(s), dict) else {} for s in SPLITS)
    if not val and not test:
        return None
    ref = COURSE.get(name)
    mine = (val, test)[ref.split == "test"].get(ref.metric) if ref else None
    accuracy = [fmt("accuracy", d["accuracy"]) if "accuracy" in d else "—" for d in (val, test)]
    return [
        name,
        section,
        dataset,
        *accuracy,
        fmt("loss", val["loss"]) if "loss" in val else "—",
        ref.figure() if ref else "",
        ref.data if ref else "",
        fmt(ref.metric, mine) if mine is not None else "",
    ]


def gate_sections(raw: Any, inputs: Inputs) -> list[dict]:
    """One section per gates model: its table by gate and its boundary picture, if drawn.
    A gates.models that is not a mapping: ConfigError."""
    models = raw.get("gates", {}).get("models") if isinstance(raw.get("gates"), dict) else None
    if not isinstance(models, dict):
        raise ConfigError("gates.models: expected a mapping of model names to their settings (make check says more)")
    found = []
    for name, entry in models.items():
        data = read_metrics(inputs.gates / f"{name}.json", f"gates@{name}")
        plot = inputs.gate_plots / f"{name}.png"
        arch = entry.get("arch") if isinstance(entry, dict) else None
        found.append(
            {
                "anchor": f"gates-{name}",
                "name": name,
                "arch": arch,
                "table": flat_table(data, GATE_COLUMNS, "gate", GATES),
                "picture": picture(
                    plot.read_bytes(),
                    str(plot),
                    f"gates.models.{name}: the boundary learned for each gate",
                    f"{name}'s boundaries for AND, OR, NOT and XOR",
                )
                if plot.is_file()
                else None,
            }
        )
    return found


def datasets(models: list[dict], inputs: Inputs) -> list[dict]:
    """Each dataset the models use, with its augmentation preview (image data sets)."""
    used: dict[str, list[str]] = {}
    for m in models:
        used.setdefault(m["dataset"], []).append(m["name"])
    out = []
    for name, users in used.items():
        preview = inputs.augmented / name / "preview.png"
        shown = (
            picture(
                preview.read_bytes(),
                str(preview),
                f"{name}: training images as augmentation changes them (params.yaml augment.{name})",
                f"a grid of augmented training images of {name}",
            )
            if preview.is_file()
            else None
        )
        out.append({"name": name, "models": users, "preview": shown})
    return out


def build(raw: Any, inputs: Inputs) -> dict:
    """Everything the page shows, gathered from the inputs."""
    if not isinstance(raw, dict):
        raise ConfigError("params.yaml: expected a mapping of sections (make check says more)")
    found = [
        (section, name, entry)
        for section in FAMILIES
        if section in raw
        for name, entry in entries(raw, section).items()
    ]
    # Every model's metrics first: a missing one stops the stage before anything is drawn.
    metrics = [
        read_metrics(inputs.metrics / f"{name}.json", f"{FAMILIES[section].stage}@{name}") for section, name, _ in found
    ]
    gates = gate_sections(raw, inputs) if "gates" in raw else []
    models = [model_section(*model, data, inputs) for model, data in zip(found, metrics)]
    filters = [
        picture(
            p.read_bytes(),
            str(p),
            "the course's hand-made kernels on real photos, each response beside its max-pooled version",
            "photos filtered by Sobel and Laplacian kernels, then max-pooled",
        )
        for p in (sorted(inputs.filters.glob("*.png")) if inputs.filters.is_dir() else [])
    ]
    return {
        "models": models,
        "summary": [m["summary"] for m in models if m["summary"]],
        "gates": gates,
        "filters": filters,
        "datasets": datasets(models, inputs),
    }


def render(context: dict) -> str:
    """The page's HTML: templates/report.html.j2 with `context` (autoescaped; an undefined name is an error)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template("report.html.j2").render(**context)


def write_report(raw: Any, inputs: Inputs, out: str | Path) -> int:
    """Write the page to `out` (nothing is written if an input is missing); returns its size in bytes."""
    context = build(raw, inputs)
    page = render(context).encode("utf-8")
    if len(page) > LIMIT:
        log.warning("%s is %d bytes, over %d: some browsers and mail will not open it", out, len(page), LIMIT)
    with atomic_open(out, "wb") as fh:
        fh.write(page)
    log.info("%s: %d models, %d bytes", out, len(context["models"]), len(page))
    return len(page)
