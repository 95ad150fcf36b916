"""`make check`: the whole params.yaml validated before anything runs, every section and every
cross-reference (a model's dataset is declared and of the right kind, a transfer model's backbone
exists, a dataset's settings agree with what the dataset is...). Every problem is listed with its
key path and what is allowed.

`python -m pipeline.run.check [params.yaml]` exits 2 if the file is invalid. `make repro` runs it
first, so a bad value never costs an output. No stage imports this module: the stages validate
the sections they read (pipeline.core.params), so editing a cross-check reruns nothing.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Any

from pipeline.core.errors import ConfigError
from pipeline.core.params import check, check_entry, invalid, read_yaml
from pipeline.data.sources import CORPUS, IMAGE, PHOTOS, REVIEWS, TABULAR, facts, read_source
from pipeline.run.dvc import resolve_stages
from pipeline.schema import augment, encode, gates, normalize
from pipeline.schema.backbones import BackboneParams
from pipeline.schema.charrnn import Sampling, prime_problem
from pipeline.schema.distributed import DistributedParams
from pipeline.schema.download import DownloadParams, problems
from pipeline.schema.evaluate import EvaluateParams
from pipeline.schema.export import ExportParams
from pipeline.schema.families import FAMILIES
from pipeline.schema.filters import FiltersParams
from pipeline.schema.runtime import AccelerateParams, RuntimeParams
from pipeline.schema.style import StyleParams

# Sections of named entries with one schema; `None`: each entry's schema is its arch's.
PER_ENTRY: dict[str, Any] = {
    "download": DownloadParams,
    "normalize": normalize.NormalizeParams,
    "augment": augment.AugmentParams,
    "encode_text": encode.EncodeTextParams,
    "encode_reviews": encode.EncodeReviewsParams,
    "backbones": BackboneParams,
    "train": None,
    "transfer": None,
    "tabular": None,
    "charrnn": None,
    "sample": Sampling,
    "sentiment": None,
    "style": StyleParams,
}
SHARED = {
    "runtime": RuntimeParams,
    "accelerate": AccelerateParams,
    "distributed": DistributedParams,
    "evaluate": EvaluateParams,
    "export": ExportParams,
    "filters": FiltersParams,
}
# Sections laid out their own way: the function that lists their problems (given params.yaml whole).
NESTED = {"gates": gates.problems}
# Model sections: the key that names their data, and the kind of dataset it must be.
# Per-dataset preparation sections: the kinds of dataset that need one, and its rules against the data.
DATA_SECTIONS = {
    "normalize": ((IMAGE, TABULAR), normalize.problems),
    "augment": ((IMAGE,), augment.problems),
    "encode_text": ((CORPUS,), lambda cfg, source: []),
    "encode_reviews": ((REVIEWS,), encode.review_problems),
}
# Keys that moved, so that an old params.yaml gets told where.
MOVED = {
    ("runtime", "threads"): "removed: how many threads a fast run uses is the machine's business; set "
    "OMP_NUM_THREADS (make repro sets it per stage)",
    **{
        ("runtime", k): f"moved to accelerate.{k} (it only changes image training)"
        for k in ("amp", "channels_last", "compile")
    },
    **{
        ("charrnn", k): "moved to sample.<model> (sampling settings rerun sampling, not training)"
        for k in ("prime", "sample_length", "top_k", "samples")
    },
}


def _raw_entries(raw: dict, section: str) -> dict:
    """A section's entries as written, valid or not ({} when the section is not a mapping); names
    that are not strings are left out (validate reports them)."""
    entries = raw.get(section)
    return {k: v for k, v in entries.items() if isinstance(k, str)} if isinstance(entries, dict) else {}


def _moved(raw: dict, found: list[str]) -> None:
    """Keys an older params.yaml may still have: say where they went."""
    for (section, key), why in MOVED.items():
        entries = raw.get(section) if isinstance(raw.get(section), dict) else {}
        holders = {"": entries} if section == "runtime" else {f"{name}.": e for name, e in entries.items()}
        found += [f"{section}.{name}{key}: {why}" for name, e in holders.items() if isinstance(e, dict) and key in e]


def _datasets(p: dict, root: Path, found: list[str]) -> dict[str, Any]:
    """Each declared dataset's facts (for those whose entry is readable); the source rules checked."""
    data = {}
    for name, cfg in p.get("download", {}).items():
        try:
            source = read_source(root / name, name, cfg.source, cfg)
        except ConfigError as err:
            found.append(str(err))
            continue
        found.extend(problems(name, source, cfg))
        data[name] = facts(name, source, cfg.source)
    return data


def _data_sections(p: dict, raw: dict, data: dict[str, Any], found: list[str]) -> None:
    for section, (needs, rules) in DATA_SECTIONS.items():
        given, declared = p.get(section, {}), _raw_entries(raw, section)  # an invalid entry is still there
        for name, source in sorted(data.items()):
            if source.kind in needs and name not in declared:
                found.append(
                    f"{section}.{name}: missing; every {source.kind} dataset declared under download needs one"
                )
        for name, cfg in sorted(given.items()):
            if name not in p.get("download", {}):
                found.append(f"{section}.{name}: dataset {name!r} is not declared under download")
            elif name in data and data[name].kind not in needs:
                found.append(
                    f"{section}.{name}: {name!r} is a {data[name].kind} dataset; {section} is for "
                    f"{' and '.join(needs)} datasets only"
                )
            elif name in data:
                found.extend(rules(cfg, data[name]))


def _models(p: dict, raw: dict, data: dict[str, Any], found: list[str]) -> None:
    owners: dict[str, str] = {}
    for section in [*FAMILIES, "backbones"]:
        for name in _raw_entries(raw, section):
            if name in owners:
                found.append(
                    f"{section}.{name}: the name is taken by {owners[name]}.{name}; models and backbones "
                    "share models/<name>/ and metrics/<name>.json, so names must be unique"
                )
            owners.setdefault(name, section)
    declared = ", ".join(sorted(p.get("download", {}))) or "none"
    for section, family in FAMILIES.items():
        key, kind = family.data_key, family.kind
        for name, m in p.get(section, {}).items():
            dataset = getattr(m, key)
            if dataset not in p.get("download", {}):
                found.append(
                    f"{section}.{name}.{key}: {dataset!r} is not a declared dataset; declared: {declared} "
                    "(declare it under download and its preparation section)"
                )
            elif dataset in data and data[dataset].kind != kind:
                found.append(
                    f"{section}.{name}.{key}: {dataset!r} holds {data[dataset].kind} data; {section} "
                    f"models need a {kind} dataset"
                )
    backbones, train = p.get("backbones", {}), _raw_entries(raw, "train")
    # What the entries name, read raw: an entry with an error elsewhere still uses its backbone.
    used = {
        e.get(key)
        for section, key in (("transfer", "backbone"), ("style", "vgg"))
        for e in _raw_entries(raw, section).values()
        if isinstance(e, dict) and isinstance(e.get(key), str)
    }
    for name, t in p.get("transfer", {}).items():
        if t.backbone not in train and t.backbone not in _raw_entries(raw, "backbones"):  # declared, even if invalid
            found.append(
                f"transfer.{name}.backbone: {t.backbone!r} is neither a model of train (the pipeline's own) "
                "nor an entry of backbones; choose one of "
                f"{', '.join(sorted([*train, *backbones])) or 'none'}"
            )
    for name, s in p.get("style", {}).items():
        if s.vgg not in backbones or backbones[s.vgg].arch != "vgg19":
            found.append(f"style.{name}.vgg: {s.vgg!r} must be an entry of backbones with arch vgg19")
    users_readable = all(isinstance(raw.get(section) or {}, dict) for section in ("transfer", "style"))
    found.extend(
        f"backbones.{name}: not used by any transfer or style model; remove it (a declared backbone is fetched)"
        for name in backbones
        if name not in used and users_readable
    )
    if (f := p.get("filters")) is not None:  # one section, not a family: its one dataset of photos
        if f.photos not in p.get("download", {}):
            found.append(
                f"filters.photos: {f.photos!r} is not a declared dataset; declared: {declared} (declare "
                "it under download)"
            )
        elif f.photos in data and data[f.photos].kind != PHOTOS:
            found.append(
                f"filters.photos: {f.photos!r} holds {data[f.photos].kind} data; the filters stage needs "
                f"a {PHOTOS} dataset"
            )
    charrnn, sample = set(_raw_entries(raw, "charrnn")), set(_raw_entries(raw, "sample"))
    found.extend(
        f"sample.{name}: missing; every charrnn model needs its sampling settings (prime, length, top_k, samples, seed)"
        for name in sorted(charrnn - sample)
    )
    found.extend(
        f"sample.{name}: not a charrnn model; sample has one entry per model of charrnn"
        for name in sorted(sample - charrnn)
    )


def _vocabulary(stages: dict[str, dict], corpus: str, root: Path) -> list[str] | None:
    """The characters of an encoded corpus (the `--vocab` file of stage encode_text@<corpus>), if
    it was encoded already; None otherwise."""
    words = shlex.split(stages.get(f"encode_text@{corpus}", {}).get("cmd", ""))
    path = root / words[words.index("--vocab") + 1] if "--vocab" in words[:-1] else None
    try:
        chars = json.loads(path.read_text())["chars"] if path is not None and path.is_file() else None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable: the encode stage's output, which its own rerun replaces
    return chars if isinstance(chars, list) else None


def _primes(p: dict, stages: dict[str, dict], root: Path, found: list[str]) -> None:
    """Each sample.<model>.prime against its corpus's vocabulary, where the corpus is encoded."""
    for name, s in p.get("sample", {}).items():
        if (model := p.get("charrnn", {}).get(name)) is not None:
            chars = _vocabulary(stages, model.corpus, root)
            if chars is not None and (problem := prime_problem(s.prime, chars, f"sample.{name}.prime")):
                found.append(problem)


def validate(
    raw: Any, source: str = "params.yaml", datasets: str | Path = "datasets", dvc_yaml: str | Path | None = None
) -> dict[str, Any]:
    """Validate a parsed params mapping (datasets/<name>/ entries under `datasets`); returns the
    validated sections, or raises ConfigError listing every problem. With `dvc_yaml` (when that
    file exists), also what DVC would make of it with these params, and the outputs already there
    (a prime against the encoded corpus)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: must be a mapping of sections, got {type(raw).__name__}")
    found: list[str] = []
    allowed = [*PER_ENTRY, *SHARED, *NESTED]
    found += [
        f"{key if isinstance(key, str) and key.strip() else repr(key)}: unknown section; allowed sections: "
        f"{', '.join(allowed)}"
        for key in raw
        if key not in allowed
    ]
    _moved(raw, found)
    p: dict[str, Any] = {}
    for section, schema in PER_ENTRY.items():
        entries = raw.get(section)
        if section not in raw:
            found.append(f"{section}: required section is missing")
        elif entries is not None and not isinstance(entries, dict):
            found.append(f"{section}: must be a mapping of names to settings, got {entries!r}")
        else:  # a name is a folder and a stage name: `1:` must be quoted
            found += [
                f"{section}.{name}: the name must be a string; quote it ('{name}')"
                for name in entries or {}
                if not isinstance(name, str)
            ]
            checked = {name: check_entry(raw, section, name, found, schema) for name in _raw_entries(raw, section)}
            p[section] = {name: obj for name, obj in checked.items() if obj is not None}
    for section, schema in SHARED.items():
        if section not in raw:
            found.append(f"{section}: required section is missing")
        elif (obj := check(schema, raw[section], section, found)) is not None:
            p[section] = obj
    for problems_of in NESTED.values():
        found += problems_of(raw)
    data = _datasets(p, Path(datasets), found)
    _data_sections(p, raw, data, found)
    _models(p, raw, data, found)
    if dvc_yaml is not None and Path(dvc_yaml).is_file():
        stages = resolve_stages(raw, Path(dvc_yaml), found)
        _primes(p, stages, Path(dvc_yaml).parent, found)
    if found:
        raise invalid(list(dict.fromkeys(map(_printable, found))), source)
    return p


def _printable(line: str) -> str:
    """A problem as one printable line: a key or value with a control character (a line or page
    break, an escape sequence) shows it escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)


def load(path: str | Path = "params.yaml") -> dict[str, Any]:
    """params.yaml validated whole; its datasets are the folders under datasets/ beside it, and
    dvc.yaml beside it is resolved against it."""
    root = Path(path).resolve().parent
    return validate(read_yaml(path), str(path), root / "datasets", root / "dvc.yaml")


def main(argv: list[str] | None = None) -> int:
    """`make check` (`python -m pipeline.run.check [params.yaml]`): 0 with a one-line summary, 2 with every problem."""
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else "params.yaml"
    try:
        p = load(path)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    models = [name for section in FAMILIES for name in p[section]]
    used = sorted({getattr(m, f.data_key) for section, f in FAMILIES.items() for m in p[section].values()})
    print(f"{path}: ok ({len(models)} models: {', '.join(models)}; datasets in use: {', '.join(used)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
