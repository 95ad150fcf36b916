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

from pipeline.data.sources import CORPUS, IMAGE, PHOTOS, REVIEWS, SOURCES, TABULAR
from pipeline.errors import ConfigError

PositiveInt = Annotated[int, Field(gt=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
Fraction = Annotated[float, Field(gt=0, lt=1)]
Device = Annotated[str, Field(pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$")]
MD5_PATTERN = re.compile(r"^[0-9a-f]{32}$")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# --- data ------------------------------------------------------------------------------------


class GenerateParams(Section):
    """For generated sources (synthetic_reviews): how many samples, from which seed."""

    samples: PositiveInt
    seed: int


class DownloadParams(Section):
    """Where a dataset's upstream files come from."""

    source: str | None = None  # registry name (pipeline/data/sources.py); defaults to the dataset's key
    mirrors: list[str] = []  # base URLs tried in order; file names are appended
    local_dir: str | None = None  # a folder already holding the upstream files; used instead of mirrors
    checksums: dict[str, str | None] = {}  # per-file MD5 overrides; null skips that file's check (local_dir only)
    retries: int = Field(3, ge=1, le=10)  # attempts per mirror before moving to the next
    timeout_s: float = Field(60.0, gt=0)
    generate: GenerateParams | None = None  # generated sources only

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
    """Images and tables -> the tensor store: seeded stratified splits."""

    val_fraction: Fraction  # of the training data, held out for validation / early stopping
    test_fraction: Fraction | None = None  # only for sources without an official test split
    seed: int
    size: PositiveInt | None = None  # image folders: shorter side resized, then a centre square crop


class AugmentParams(Section):
    """The seeded augmentation policy training applies to batches of training images."""

    rotation_deg: float = Field(ge=0, le=180)  # uniform in [-r, r]
    translate: float = Field(ge=0, lt=0.5)  # fraction of width/height, uniform in [-t, t]
    scale: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=2, max_length=2)]  # [low, high]; >1 zooms in
    hflip: Probability  # probability of a horizontal flip
    seed: int
    preview_images: int = Field(ge=1, le=256)

    @field_validator("scale")
    @classmethod
    def _ordered(cls, scale: list[float]) -> list[float]:
        if scale[0] > scale[1]:
            raise ValueError(f"scale must be [low, high] with low <= high, got {scale}")
        return scale


class EncodeTextParams(Section):
    """A text corpus -> integer codes over a sorted character vocabulary."""

    val_fraction: Fraction  # the held-out tail of the text
    max_chars: PositiveInt | None = None  # keep only the first max_chars characters (CPU-sized runs)


class EncodeReviewsParams(Section):
    """Reviews -> tokens (lowercase, punctuation stripped), a frequency-ranked vocabulary (0 pads),
    left-padded or truncated to seq_length."""

    seq_length: PositiveInt
    min_count: PositiveInt  # words rarer than this in the training split map to 1 (unknown)
    val_fraction: Fraction
    test_fraction: Fraction | None = None  # only for sources without an official test split
    seed: int


# --- models ----------------------------------------------------------------------------------


class Optim(Section):
    """What gradient-trained models share."""

    optimizer: Literal["sgd", "adam", "adamw"]
    lr: float = Field(gt=0)
    momentum: float = Field(ge=0, lt=1)  # sgd only
    weight_decay: float = Field(ge=0)
    batch_size: PositiveInt
    epochs: PositiveInt
    patience: PositiveInt  # early stopping: epochs without a lower validation loss
    seed: int
    device: Device


class TrainParams(Optim):
    """An image classifier trained from scratch; architectures add their own keys."""

    arch: str  # registered architecture: pipeline/models/<arch>.py
    dataset: str
    dropout: float = Field(ge=0, lt=1)
    label_map: dict[str, str] | None = None  # relabel classes (e.g. digit -> even/odd) before training


class MLPParams(TrainParams):
    hidden: Annotated[list[PositiveInt], Field(min_length=1)]


class CNNParams(TrainParams):
    channels: Annotated[list[PositiveInt], Field(min_length=1)]  # one 3x3 conv + 2x2 max-pool block each
    fc: PositiveInt


class TransferParams(Optim):
    """A frozen feature extractor plus a new trainable head."""

    arch: Literal["transfer"]
    dataset: str
    backbone: str  # a model of the train section (the pipeline's own) or an entry of backbones (torchvision)
    freeze: bool  # false fine-tunes the backbone too
    head: list[PositiveInt]  # hidden sizes of the new head; [] is a single linear layer
    dropout: float = Field(ge=0, lt=1)
    label_map: dict[str, str] | None = None


class BackboneParams(Section):
    """Weights for a torchvision architecture: ImageNet weights from a file or the official URL,
    checked by hash, or a seeded random initialization (no download)."""

    arch: Literal["resnet18", "vgg16", "vgg19", "densenet121"]
    weights: Literal["imagenet", "random"]
    url: str | None = None  # imagenet: defaults to the official torchvision URL
    local_file: str | None = None  # imagenet: read this file instead of downloading
    sha256: str | None = None  # full hash; otherwise the hash prefix in the official file name is checked
    seed: int = 0  # random only
    timeout_s: float = Field(300.0, gt=0)
    retries: int = Field(3, ge=1, le=10)

    @field_validator("sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ValueError(f"sha256 must be 64 lowercase hex digits, got {value!r}")
        return value


class TabularCommon(Section):
    arch: str
    dataset: str
    lr: float = Field(gt=0)
    epochs: PositiveInt
    patience: PositiveInt
    seed: int


class LogRegParams(TabularCommon):
    """Logistic regression: one linear layer and a sigmoid, trained by gradient descent on the log-loss."""

    arch: Literal["logreg"]
    batch_size: PositiveInt | None  # null: full-batch gradient descent, as in the course
    weight_decay: float = Field(ge=0)


class PerceptronParams(TabularCommon):
    """The course's perceptron trick: nudge the line towards each misclassified point."""

    arch: Literal["perceptron"]


class CharRNNParams(Section):
    """The course's character-level LSTM."""

    arch: Literal["charrnn"]
    corpus: str
    onehot: bool  # the course feeds one-hot characters; false learns an embedding instead
    embedding_dim: PositiveInt  # used when onehot is false
    hidden: PositiveInt
    layers: PositiveInt
    dropout: float = Field(ge=0, lt=1)
    seq_length: PositiveInt
    batch_size: PositiveInt
    lr: float = Field(gt=0)
    clip: float = Field(gt=0)  # gradient norm clipping
    epochs: PositiveInt
    patience: PositiveInt
    seed: int
    device: Device
    prime: str = Field(min_length=1)  # generated samples start with this
    sample_length: PositiveInt
    top_k: PositiveInt
    samples: PositiveInt  # how many samples to generate


class SentimentParams(Section):
    """The course's sentiment LSTM: embedding -> LSTM -> dropout -> linear -> sigmoid."""

    arch: Literal["sentiment"]
    dataset: str
    embedding_dim: PositiveInt
    hidden: PositiveInt
    layers: PositiveInt
    dropout: float = Field(ge=0, lt=1)
    batch_size: PositiveInt
    lr: float = Field(gt=0)
    clip: float = Field(gt=0)
    epochs: PositiveInt
    patience: PositiveInt
    seed: int
    device: Device


STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


class StyleParams(Section):
    """The course's style transfer (Gatys et al.) on VGG19 features."""

    images: str  # a dataset of photos
    content: str  # file name in it
    style: str
    vgg: str  # an entry of backbones with arch vgg19
    size: PositiveInt  # longer side of the content image, pixels
    steps: PositiveInt
    lr: float = Field(gt=0)
    content_weight: float = Field(gt=0)  # alpha
    style_weight: float = Field(gt=0)  # beta
    content_layer: Literal["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1"]
    style_layers: dict[str, Annotated[float, Field(ge=0)]]
    log_every: PositiveInt
    seed: int
    device: Device

    @field_validator("style_layers")
    @classmethod
    def _layers(cls, layers: dict[str, float]) -> dict[str, float]:
        unknown = set(layers) - set(STYLE_LAYERS)
        if unknown or not layers:
            raise ValueError(f"style layers must be a non-empty subset of {', '.join(STYLE_LAYERS)}, "
                             f"got {sorted(layers)}")
        return layers


class RuntimeParams(Section):
    """How stages compute: bit-identical results, or all cores."""

    deterministic: Literal["auto", "on", "off"]  # auto: on for the CPU, off on a GPU (see pipeline/runtime.py)
    threads: PositiveInt | None = None  # torch threads when not deterministic; null: one per core
    amp: Literal["auto", "bf16", "off"] = "auto"  # autocast of training steps; auto: bf16 on a GPU that has it
    channels_last: bool = True  # convolutional models on a GPU
    compile: bool = False  # torch.compile the model for training (minutes of compiling; pays off on long runs)


_TORCHRUN_OPTIONS = {"--standalone", "--nproc-per-node", "--nnodes", "--node-rank", "--rdzv-backend",
                     "--rdzv-endpoint", "--rdzv-id", "--master-addr", "--master-port", "--max-restarts"}


class DistributedParams(Section):
    """How train@ stages start: one process, or DDP ranks under torchrun."""

    launcher: str  # "python -m", or "torchrun [options] -m"

    @field_validator("launcher")
    @classmethod
    def _launcher(cls, value: str) -> str:
        words = value.split()
        if words == ["python", "-m"]:
            return value
        if len(words) < 2 or words[0] != "torchrun" or words[-1] != "-m":
            raise ValueError("must be 'python -m' (one process) or 'torchrun <options> -m', e.g. "
                             "'torchrun --standalone --nproc-per-node 2 -m'")
        unknown = sorted({w.split("=")[0] for w in words[1:-1] if w.startswith("-")} - _TORCHRUN_OPTIONS)
        if unknown:
            raise ValueError(f"unknown torchrun option(s) {', '.join(unknown)}; allowed: "
                             f"{', '.join(sorted(_TORCHRUN_OPTIONS))}")
        return value


class EvaluateParams(Section):
    batch_size: PositiveInt
    device: Device


class ExportParams(Section):
    atol: float = Field(gt=0)  # parity: exported outputs must equal the eager model's within this
    batch_size: PositiveInt  # parity check batch size


# The model registry for the train section: architecture name -> its params model; the network
# itself is built by pipeline/models/<name>.py. Kept torch-free here so that validating is instant.
ARCH_PARAMS: dict[str, type[TrainParams]] = {"mlp": MLPParams, "cnn": CNNParams}
TABULAR_PARAMS: dict[str, type[TabularCommon]] = {"logreg": LogRegParams, "perceptron": PerceptronParams}
# Every architecture a checkpoint can name, for rebuilding it.
ALL_ARCHS: dict[str, type[Section]] = {**ARCH_PARAMS, **TABULAR_PARAMS, "transfer": TransferParams,
                                       "charrnn": CharRNNParams, "sentiment": SentimentParams}

# Model families: params section -> (params model or arch registry, the dataset key, the kind it needs).
FAMILIES: dict[str, tuple[Any, str, str]] = {
    "train": (ARCH_PARAMS, "dataset", IMAGE),
    "transfer": (TransferParams, "dataset", IMAGE),
    "tabular": (TABULAR_PARAMS, "dataset", TABULAR),
    "charrnn": (CharRNNParams, "corpus", CORPUS),
    "sentiment": (SentimentParams, "dataset", REVIEWS),
    "style": (StyleParams, "images", PHOTOS),
}
# Per-dataset sections and the kinds of dataset that need them.
DATA_SECTIONS: dict[str, tuple[type[Section], tuple[str, ...]]] = {
    "normalize": (NormalizeParams, (IMAGE, TABULAR)),
    "augment": (AugmentParams, (IMAGE,)),
    "encode_text": (EncodeTextParams, (CORPUS,)),
    "encode_reviews": (EncodeReviewsParams, (REVIEWS,)),
}


class Params(Section):
    download: dict[str, DownloadParams]
    normalize: dict[str, NormalizeParams]
    augment: dict[str, AugmentParams]
    encode_text: dict[str, EncodeTextParams]
    encode_reviews: dict[str, EncodeReviewsParams]
    backbones: dict[str, BackboneParams]
    train: dict[str, TrainParams]
    transfer: dict[str, TransferParams]
    tabular: dict[str, TabularCommon]
    charrnn: dict[str, CharRNNParams]
    sentiment: dict[str, SentimentParams]
    style: dict[str, StyleParams]
    runtime: RuntimeParams
    distributed: DistributedParams
    evaluate: EvaluateParams
    export: ExportParams

    def model(self, name: str, section: str = "train") -> Any:
        entries = getattr(self, section)
        if name not in entries:
            raise ConfigError(f"{section}.{name}: no such entry in params.yaml; {section} has: "
                              f"{', '.join(entries) or 'nothing'}")
        return entries[name]

    def dataset(self, section: str, name: str) -> Any:
        return self.model(name, section)

    def source_name(self, dataset: str) -> str:
        return self.dataset("download", dataset).source or dataset


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
    try:
        return model.model_validate({} if data is None else data)
    except ValidationError as err:
        errors.extend(_describe(e, model, path) for e in err.errors())
        return None


def _validate_each(model: Any, data: Any, path: str, errors: list[str]) -> dict:
    """Validate a mapping of named entries; `model` is a params model or an arch -> model registry."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        errors.append(f"{path}: must be a mapping of names to settings, got {data!r}")
        return {}
    out = {}
    for name, sub in data.items():
        cls = model
        if isinstance(model, dict):
            arch = sub.get("arch") if isinstance(sub, dict) else None
            if arch is None:
                errors.append(f"{path}.{name}.arch: required key is missing; registered models: "
                              f"{', '.join(sorted(model))}")
                continue
            if arch not in model:
                errors.append(f"{path}.{name}.arch: unknown model {arch!r}; registered models: "
                              f"{', '.join(sorted(model))}")
                continue
            cls = model[arch]
        if (obj := _validate(cls, sub, f"{path}.{name}", errors)) is not None:
            out[name] = obj
    return out


def _check_downloads(p: dict, errors: list[str]) -> dict[str, str]:
    """Source rules; returns dataset -> kind for the datasets whose source is known."""
    kinds = {}
    for name, d in p.get("download", {}).items():
        key = d.source or name
        if key not in SOURCES:
            where = f"download.{name}.source" if d.source else f"download.{name}"
            errors.append(f"{where}: unknown source {key!r}; known sources: {', '.join(sorted(SOURCES))}")
            continue
        src = SOURCES[key]
        kinds[name] = src.kind
        names = {f.name for f in src.files}
        for fname, md5 in d.checksums.items():
            if src.files and fname not in names:
                errors.append(f"download.{name}.checksums.{fname}: not a file of source {key!r}; "
                              f"its files: {', '.join(sorted(names))}")
            elif md5 is None and d.local_dir is None:
                errors.append(f"download.{name}.checksums.{fname}: null is only allowed with local_dir; "
                              "a download is always checked")
        if src.bundled_in and (d.mirrors or d.local_dir):
            errors.append(f"download.{name}: source {key!r} ships with {src.bundled_in}; remove mirrors and local_dir")
        if src.folder and not d.local_dir:
            errors.append(f"download.{name}.local_dir: source {key!r} reads a folder laid out as "
                          "train/<class>/*.jpg and test/<class>/*.jpg; give its path")
        if src.remote and not d.mirrors and not d.local_dir:
            errors.append(f"download.{name}.mirrors: give at least one mirror URL, or set "
                          f"download.{name}.local_dir to a folder holding {', '.join(sorted(names))}")
        if src.remote and d.mirrors and not d.local_dir:
            for f in src.files:
                if f.md5 is None and d.checksums.get(f.name) is None:
                    errors.append(f"download.{name}.checksums.{f.name}: required; {key!r} publishes no checksum "
                                  "for it, and a download is always checked (md5sum of a copy you trust)")
        if (src.generator is None) != (d.generate is None):
            errors.append(f"download.{name}.generate: " + ("required for a generated source (samples, seed)"
                                                          if src.generator else f"only for generated sources, "
                                                          f"and {key!r} is not one"))
    return kinds


def _check_data_sections(p: dict, kinds: dict[str, str], errors: list[str]) -> None:
    for section, (_, needs) in DATA_SECTIONS.items():
        given = p.get(section)
        if given is None:
            continue
        for name, kind in sorted(kinds.items()):
            if kind in needs and name not in given:
                errors.append(f"{section}.{name}: missing; every {kind} dataset declared under download needs one")
        for name in sorted(given):
            if name not in p.get("download", {}):
                errors.append(f"{section}.{name}: dataset {name!r} is not declared under download")
            elif name in kinds and kinds[name] not in needs:
                errors.append(f"{section}.{name}: {name!r} is a {kinds[name]} dataset; {section} is for "
                              f"{' and '.join(needs)} datasets only")
    for name, norm in p.get("normalize", {}).items():
        src = SOURCES.get(p["download"][name].source or name) if name in p.get("download", {}) else None
        if src is None:
            continue
        if src.official_test and norm.test_fraction is not None:
            errors.append(f"normalize.{name}.test_fraction: {name!r} has an official test split; remove it")
        if not src.official_test and norm.test_fraction is None:
            errors.append(f"normalize.{name}.test_fraction: required, {name!r} has no official test split (e.g. 0.2)")
        if norm.val_fraction + (norm.test_fraction or 0) >= 1:
            errors.append(f"normalize.{name}: val_fraction + test_fraction must be < 1")
        folder = src.parser.startswith("image_folder")
        if folder and norm.size is None:
            errors.append(f"normalize.{name}.size: required for an image folder (the course uses 224)")
        if not folder and norm.size is not None:
            errors.append(f"normalize.{name}.size: only for image folders; {name!r} has a fixed image size")
    for name, aug in p.get("augment", {}).items():
        src = SOURCES.get(p["download"][name].source or name) if name in p.get("download", {}) else None
        if src is not None and aug.hflip > 0 and not src.hflip_ok:
            errors.append(f"augment.{name}.hflip: must be 0 for {name!r}: a mirrored image changes class "
                          "(a mirrored 2 is not a 2)")
    for name, enc in p.get("encode_reviews", {}).items():
        src = SOURCES.get(p["download"][name].source or name) if name in p.get("download", {}) else None
        if src is not None and src.official_test != (enc.test_fraction is None):
            errors.append(f"encode_reviews.{name}.test_fraction: " + (
                "remove it; the source has an official test split" if src.official_test else "required"))


def _check_models(p: dict, kinds: dict[str, str], declared_models: set[str], errors: list[str]) -> None:
    declared = ", ".join(sorted(kinds)) or "none"
    owners: dict[str, str] = {}
    for section in [*FAMILIES, "backbones"]:
        for name in p.get(section, {}):
            if name in owners:
                errors.append(f"{section}.{name}: the name is taken by {owners[name]}.{name}; models and "
                              "backbones share models/<name>/ and metrics/<name>.json, so names must be unique")
            owners.setdefault(name, section)
    for section, (_, key, kind) in FAMILIES.items():
        for name, m in p.get(section, {}).items():
            dataset = getattr(m, key)
            if dataset not in kinds:
                errors.append(f"{section}.{name}.{key}: {dataset!r} is not a declared dataset; declared: "
                              f"{declared} (declare it under download and its preparation section)")
            elif kinds[dataset] != kind:
                errors.append(f"{section}.{name}.{key}: {dataset!r} holds {kinds[dataset]} data; "
                              f"{section} models need a {kind} dataset")
            if getattr(m, "momentum", 0) and getattr(m, "optimizer", "sgd") != "sgd":
                errors.append(f"{section}.{name}.momentum: only sgd uses momentum; set it to 0 for {m.optimizer}")
    backbones = p.get("backbones", {})
    used = set()
    for name, t in p.get("transfer", {}).items():
        if t.backbone in declared_models or t.backbone in backbones:  # declared, even if it has errors of its own
            used.add(t.backbone)
        else:
            errors.append(f"transfer.{name}.backbone: {t.backbone!r} is neither a model of train (the pipeline's "
                          f"own) nor an entry of backbones; choose one of "
                          f"{', '.join(sorted([*p.get('train', {}), *backbones])) or 'none'}")
    for name, s in p.get("style", {}).items():
        if s.vgg not in backbones or backbones[s.vgg].arch != "vgg19":
            errors.append(f"style.{name}.vgg: {s.vgg!r} must be an entry of backbones with arch vgg19")
        used.add(s.vgg)
    for name, b in backbones.items():
        if name not in used:
            errors.append(f"backbones.{name}: not used by any transfer or style model; remove it (a declared "
                          "backbone is fetched)")
        if b.weights == "random" and (b.url or b.local_file or b.sha256):
            errors.append(f"backbones.{name}: random weights take no url, local_file or sha256")


def validate(raw: Any, source: str = "params.yaml") -> Params:
    """Validate a parsed params mapping; raise ConfigError listing every problem."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: must be a mapping of sections, got {type(raw).__name__}")
    errors: list[str] = []
    per_name = {"download": DownloadParams, "backbones": BackboneParams,
                **{k: v[0] for k, v in DATA_SECTIONS.items()}, **{k: v[0] for k, v in FAMILIES.items()}}
    shared = {"runtime": RuntimeParams, "distributed": DistributedParams, "evaluate": EvaluateParams, "export": ExportParams}
    allowed = [*per_name, *shared]
    for key in raw:
        if key not in allowed:
            errors.append(f"{key}: unknown section; allowed sections: {', '.join(allowed)}")
    parsed: dict[str, Any] = {}
    for key, model in (per_name | shared).items():
        if key not in raw:
            errors.append(f"{key}: required section is missing")
        elif key in per_name:
            parsed[key] = _validate_each(model, raw[key], key, errors)
        elif (obj := _validate(model, raw[key], key, errors)) is not None:
            parsed[key] = obj
    kinds = _check_downloads(parsed, errors)
    _check_data_sections(parsed, kinds, errors)
    train_names = set(raw["train"]) if isinstance(raw.get("train"), dict) else set()
    _check_models(parsed, kinds, train_names, errors)
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
    models = [name for section in FAMILIES for name in getattr(params, section)]
    used = sorted({getattr(m, key) for section, (_, key, _) in FAMILIES.items()
                   for m in getattr(params, section).values()})
    print(f"{path}: ok ({len(models)} models: {', '.join(models)}; datasets in use: {', '.join(used)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
