"""params.yaml, validated: one frozen pydantic model per section, checked as a whole before any
stage writes anything. Every problem is reported with its key path and what is allowed,
e.g. `train.cnn.lr: Input should be greater than 0 (got -1)`.

`python -m pipeline.config [params.yaml]` checks a file and exits 2 if it is invalid;
`make repro` runs it before `dvc repro` so a bad value never costs an output.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.data.sources import SOURCES
from pipeline.errors import ConfigError

PositiveInt = Annotated[int, Field(gt=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
Fraction = Annotated[float, Field(gt=0, lt=1)]
DEVICE_PATTERN = r"^(auto|cpu|cuda(:\d+)?|mps)$"
MD5_PATTERN = re.compile(r"^[0-9a-f]{32}$")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DownloadParams(Section):
    """Where a dataset's upstream files come from."""

    source: str | None = None  # registry name (pipeline/data/sources.py); defaults to the dataset's key
    mirrors: list[str] = []  # base URLs tried in order; file names are appended
    local_dir: str | None = None  # a folder already holding the upstream files; used instead of mirrors
    checksums: dict[str, str | None] = {}  # per-file MD5 overrides; null skips that file's check (local_dir only)
    retries: int = Field(3, ge=1, le=10)  # attempts per mirror before moving to the next
    timeout_s: float = Field(60.0, gt=0)

    @field_validator("mirrors")
    @classmethod
    def _mirror_urls(cls, mirrors: list[str]) -> list[str]:
        for url in mirrors:
            if not re.match(r"^(https?|file)://", url):
                raise ValueError(f"mirror {url!r} must start with http://, https:// or file://")
        return [url if url.endswith("/") else url + "/" for url in mirrors]

    @field_validator("checksums")
    @classmethod
    def _md5s(cls, checksums: dict[str, str | None]) -> dict[str, str | None]:
        for name, md5 in checksums.items():
            if md5 is not None and not MD5_PATTERN.match(md5):
                raise ValueError(f"checksum of {name!r} must be 32 lowercase hex digits or null, got {md5!r}")
        return checksums


class NormalizeParams(Section):
    """How raw files become the tensor store: seeded stratified splits."""

    val_fraction: Fraction  # of the training data, held out for validation / early stopping
    test_fraction: Fraction | None = None  # only for sources without an official test split
    seed: int


class AugmentParams(Section):
    """The seeded augmentation policy training applies to batches of training images."""

    rotation_deg: float = Field(ge=0, le=180)  # uniform in [-r, r]
    translate: float = Field(ge=0, lt=0.5)  # fraction of width/height, uniform in [-t, t]
    scale: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=2, max_length=2)]  # [low, high]
    hflip: Probability  # probability of a horizontal flip
    seed: int
    preview_images: int = Field(ge=1, le=256)

    @field_validator("scale")
    @classmethod
    def _ordered(cls, scale: list[float]) -> list[float]:
        if scale[0] > scale[1]:
            raise ValueError(f"scale must be [low, high] with low <= high, got {scale}")
        return scale


class TrainParams(Section):
    """What every model's training shares; architectures add their own keys below."""

    arch: str  # registered architecture: pipeline/models/<arch>.py
    dataset: str
    optimizer: Literal["sgd", "adam", "adamw"]
    lr: float = Field(gt=0)
    momentum: float = Field(ge=0, lt=1)  # sgd only
    weight_decay: float = Field(ge=0)
    batch_size: PositiveInt
    epochs: PositiveInt
    patience: PositiveInt  # early stopping: epochs without a lower validation loss
    dropout: float = Field(ge=0, lt=1)
    seed: int
    device: str = Field(pattern=DEVICE_PATTERN)


class MLPParams(TrainParams):
    hidden: Annotated[list[PositiveInt], Field(min_length=1)]


class CNNParams(TrainParams):
    channels: Annotated[list[PositiveInt], Field(min_length=1)]  # one 3x3 conv + 2x2 max-pool block each
    fc: PositiveInt


class EvaluateParams(Section):
    batch_size: PositiveInt
    device: str = Field(pattern=DEVICE_PATTERN)


class ExportParams(Section):
    atol: float = Field(gt=0)  # parity: exported outputs must equal eager ones within this
    batch_size: PositiveInt  # parity check batch size


# The model registry: architecture name -> its params model; the network itself is built by
# pipeline/models/<name>.py. Kept torch-free here so that validating params is instant.
ARCH_PARAMS: dict[str, type[TrainParams]] = {"mlp": MLPParams, "cnn": CNNParams}


class Params(Section):
    download: dict[str, DownloadParams]
    normalize: dict[str, NormalizeParams]
    augment: dict[str, AugmentParams]
    train: dict[str, TrainParams]
    evaluate: EvaluateParams
    export: ExportParams

    def model(self, name: str) -> TrainParams:
        if name not in self.train:
            raise ConfigError(f"train.{name}: no such model in params.yaml; models: {', '.join(self.train)}")
        return self.train[name]

    def dataset(self, section: str, name: str) -> Any:
        entries = getattr(self, section)
        if name not in entries:
            raise ConfigError(f"{section}.{name}: no such dataset in params.yaml; declared: {', '.join(entries)}")
        return entries[name]

    def source_name(self, dataset: str) -> str:
        return self.dataset("download", dataset).source or dataset


SECTIONS = {"download": DownloadParams, "normalize": NormalizeParams, "augment": AugmentParams,
            "evaluate": EvaluateParams, "export": ExportParams}


# --- YAML -----------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads `1e-3` as a float (YAML 1.2, as DVC does) and rejects duplicate keys."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _mapping_without_duplicates(loader: _Loader, node: yaml.MappingNode) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise ConfigError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}: "
                              "the later value would silently win; keep one")
        seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def read_yaml(path: str | Path) -> Any:
    try:
        with open(path) as fh:
            return yaml.load(fh, Loader=_Loader)
    except FileNotFoundError:
        raise ConfigError(f"{path} not found; run from the repository root or pass --params") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None


# --- validation -----------------------------------------------------------------------------


def _describe(err: dict, model: type[BaseModel], path: str) -> str:
    loc = ".".join([path, *(str(p) for p in err["loc"])])
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown key; allowed keys: {', '.join(model.model_fields)}"
    if err["type"] == "missing":
        return f"{loc}: required key is missing"
    return f"{loc}: {err['msg']} (got {err['input']!r})"


def _validate(model: type[BaseModel], data: Any, path: str, errors: list[str]) -> Any:
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as err:
        errors.extend(_describe(e, model, path) for e in err.errors())
        return None


def _validate_each(model: type[BaseModel], data: Any, path: str, errors: list[str]) -> dict:
    if not isinstance(data, dict) or not data:
        errors.append(f"{path}: must be a mapping of names to settings, got {data!r}")
        return {}
    return {name: obj for name, sub in data.items()
            if (obj := _validate(model, sub, f"{path}.{name}", errors)) is not None}


def _validate_train(data: Any, errors: list[str]) -> dict[str, TrainParams]:
    if not isinstance(data, dict) or not data:
        errors.append(f"train: must be a mapping of model names to settings, got {data!r}")
        return {}
    models = {}
    for name, sub in data.items():
        if not isinstance(sub, dict) or "arch" not in sub:
            errors.append(f"train.{name}.arch: required key is missing; registered models: "
                          f"{', '.join(sorted(ARCH_PARAMS))}")
            continue
        arch = sub["arch"]
        if arch not in ARCH_PARAMS:
            errors.append(f"train.{name}.arch: unknown model {arch!r}; registered models: "
                          f"{', '.join(sorted(ARCH_PARAMS))}")
            continue
        if (obj := _validate(ARCH_PARAMS[arch], sub, f"train.{name}", errors)) is not None:
            models[name] = obj
    return models


def _cross_check(p: dict, errors: list[str]) -> None:
    """Rules that span keys or sections; `p` holds the sections that validated on their own."""
    datasets = p.get("download", {})
    declared = ", ".join(sorted(datasets)) or "none"
    for name, d in datasets.items():
        key = d.source or name
        if key not in SOURCES:
            where = f"download.{name}.source" if d.source else f"download.{name}"
            errors.append(f"{where}: unknown source {key!r}; known sources: {', '.join(sorted(SOURCES))}")
            continue
        src = SOURCES[key]
        names = {f.name for f in src.files}
        for fname, md5 in d.checksums.items():
            if fname not in names:
                errors.append(f"download.{name}.checksums.{fname}: not a file of source {key!r}; "
                              f"its files: {', '.join(sorted(names))}")
            elif md5 is None and d.local_dir is None:
                errors.append(f"download.{name}.checksums.{fname}: null is only allowed with local_dir; "
                              "a download is always checked")
        if not src.remote and (d.mirrors or d.local_dir):
            errors.append(f"download.{name}: source {key!r} ships with {src.bundled_in}; "
                          "remove mirrors and local_dir")
        if src.remote and not d.mirrors and not d.local_dir:
            errors.append(f"download.{name}.mirrors: give at least one mirror URL, or set "
                          f"download.{name}.local_dir to a folder holding {', '.join(sorted(names))}")
        norm = p.get("normalize", {}).get(name)
        if norm is not None:
            if src.official_test and norm.test_fraction is not None:
                errors.append(f"normalize.{name}.test_fraction: {key!r} has an official test split; "
                              "remove test_fraction")
            if not src.official_test and norm.test_fraction is None:
                errors.append(f"normalize.{name}.test_fraction: required, {key!r} has no official test "
                              "split (e.g. 0.2)")
            if norm.val_fraction + (norm.test_fraction or 0) >= 1:
                errors.append(f"normalize.{name}: val_fraction + test_fraction must be < 1")
        aug = p.get("augment", {}).get(name)
        if aug is not None and aug.hflip > 0 and not src.hflip_ok:
            errors.append(f"augment.{name}.hflip: must be 0 for {key!r}: a mirrored image changes "
                          "class (a mirrored 2 is not a 2)")
    for section in ("normalize", "augment"):
        given = p.get(section)
        if given is None:
            continue
        for name in sorted(set(datasets) - set(given)):
            errors.append(f"{section}.{name}: missing; every dataset declared under download needs one")
        for name in sorted(set(given) - set(datasets)):
            errors.append(f"{section}.{name}: dataset {name!r} is not declared under download "
                          f"(declared: {declared})")
    for name, t in p.get("train", {}).items():
        if t.dataset not in datasets:
            errors.append(f"train.{name}.dataset: {t.dataset!r} is not a declared dataset; declared: "
                          f"{declared} (declare it under download, normalize and augment)")
        if t.momentum and t.optimizer != "sgd":
            errors.append(f"train.{name}.momentum: only sgd uses momentum; set it to 0 for {t.optimizer}")


def validate(raw: Any, source: str = "params.yaml") -> Params:
    """Validate a parsed params mapping; raise ConfigError listing every problem."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: must be a mapping of sections, got {type(raw).__name__}")
    errors: list[str] = []
    allowed = [*SECTIONS, "train"]
    for key in raw:
        if key not in allowed:
            errors.append(f"{key}: unknown section; allowed sections: {', '.join(allowed)}")
    parsed: dict[str, Any] = {}
    for key, model in SECTIONS.items():
        if key not in raw:
            errors.append(f"{key}: required section is missing")
        elif key in ("download", "normalize", "augment"):
            parsed[key] = _validate_each(model, raw[key], key, errors)
        elif (obj := _validate(model, raw[key], key, errors)) is not None:
            parsed[key] = obj
    if "train" not in raw:
        errors.append("train: required section is missing")
    else:
        parsed["train"] = _validate_train(raw["train"], errors)
    _cross_check(parsed, errors)
    if errors:
        raise ConfigError(f"{source} is invalid:\n  - " + "\n  - ".join(errors))
    return Params.model_construct(**parsed)


def load(path: str | Path = "params.yaml") -> Params:
    return validate(read_yaml(path), str(path))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else "params.yaml"
    try:
        params = load(path)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    used = sorted({t.dataset for t in params.train.values()})
    print(f"{path}: ok ({len(params.train)} models: {', '.join(params.train)}; "
          f"datasets in use: {', '.join(used)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
