"""params.yaml, read and validated entry by entry: a stage validates what it reads (`entry`,
`section`), `make check` (pipeline.run.check) the whole file. Both report a problem with its key path
and what is allowed: `train.cnn.lr: Input should be greater than 0 (got -1)`. A model entry's
schema is `Params` in pipeline/schema/<arch>.py (with the `SECTION` it belongs to)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.core.errors import ConfigError

PositiveInt = Annotated[int, Field(gt=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
Fraction = Annotated[float, Field(gt=0, lt=1)]
Device = Annotated[str, Field(pattern=r"^(auto|cpu|cuda(:\d+)?|mps)$")]
# numpy's generators (and torch's, through them) take seeds in [0, 2**32); -1 was a numpy traceback.
Seed = Annotated[int, Field(ge=0, lt=2**32)]
MODELS = Path(__file__).resolve().parents[1] / "models"  # one file per registered architecture


class Section(BaseModel):
    """A params section: unknown keys, wrong types and non-finite floats (`.inf`, `.nan`) are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads `1e-3` as a float (YAML 1.2, as DVC does) and rejects duplicate keys."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789")
)


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise ConfigError(
                f"duplicate key {key!r} at line {key_node.start_mark.line + 1}: "
                "the later value would silently win; keep one"
            )
        seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file as DVC does (1e-3 a float, duplicate keys refused); ConfigError if missing or not YAML."""
    try:
        with open(path) as fh:
            return yaml.load(fh, Loader=_Loader)
    except FileNotFoundError:
        raise ConfigError(f"{path} not found; run from the repository root or pass --params") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None


def invalid(problems: list[str], source: str = "params.yaml") -> ConfigError:
    """One ConfigError listing every problem of `source`, one a line."""
    return ConfigError(f"{source} is invalid:\n  - " + "\n  - ".join(problems))


def check(model: type[BaseModel], data: Any, path: str, problems: list[str]) -> Any:
    """`data` validated as `model`, or None with each problem (key path first) added to `problems`."""
    try:
        return model.model_validate({} if data is None else data)
    except ValidationError as err:
        for e in err.errors():
            loc, msg = ".".join([path, *(str(p) for p in e["loc"])]), e["msg"].removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                problems.append(f"{loc}: unknown key; allowed keys: {', '.join(model.model_fields)}")
            elif e["type"] == "missing":
                problems.append(f"{loc}: required key is missing")
            elif not e["loc"]:  # a rule across keys; its message starts with the key it blames, if one
                problems.append(f"{loc}{'.' if msg.split(':')[0] in model.model_fields else ': '}{msg}")
            else:
                problems.append(f"{loc}: {e['msg']} (got {e['input']!r})")
        return None


def arch_schema(arch: Any, key: str, section: str | None = None) -> type[Section]:
    """The params model of architecture `arch` (of `section`, if given); `key` names it in errors."""
    known = sorted(
        p.stem for p in MODELS.glob("*.py") if not p.stem.startswith("_")
    )  # _x.py: a helper, not an architecture
    module = importlib.import_module(f"pipeline.schema.{arch}") if arch in known else None
    if module is None or section not in (None, module.SECTION):
        own = [a for a in known if section in (None, importlib.import_module(f"pipeline.schema.{a}").SECTION)]
        raise ConfigError(f"{key}: unknown model {arch!r}; registered models: {', '.join(own)}")
    return module.Params


def check_entry(raw: Any, section: str, name: str, problems: list[str], schema: Any = None) -> Any:
    """Entry `name` of `section` validated (by its `arch` when no schema is given), or None."""
    entries = raw.get(section) if isinstance(raw, dict) else None
    if not isinstance(entries, dict) or name not in entries:
        problems.append(
            f"{section}.{name}: no such entry in params.yaml; {section} has: "
            f"{', '.join(entries) if isinstance(entries, dict) and entries else 'nothing'}"
        )
        return None
    data = entries[name]
    if schema is None:
        arch = data.get("arch") if isinstance(data, dict) else None
        try:
            schema = arch_schema(arch, f"{section}.{name}.arch", section)
        except ConfigError as err:
            problems.append(str(err) if arch is not None else f"{section}.{name}.arch: required key is missing")
            return None
    return check(schema, data, f"{section}.{name}", problems)


def entry(raw: Any, section: str, name: str, schema: Any = None, source: str = "params.yaml") -> Any:
    """What a stage reads: one entry, validated, or a ConfigError listing every problem."""
    problems: list[str] = []
    obj = check_entry(raw, section, name, problems, schema)
    if problems:
        raise invalid(problems, source)
    return obj


def section(raw: Any, name: str, schema: type[Section], source: str = "params.yaml") -> Any:
    """A shared section (runtime, evaluate, export...), validated."""
    problems: list[str] = [] if isinstance(raw, dict) and name in raw else [f"{name}: required section is missing"]
    obj = None if problems else check(schema, raw[name], name, problems)
    if problems:
        raise invalid(problems, source)
    return obj
