"""Property-based fuzzing of params.yaml (issue 15): the real file, changed by random deletions of
keys and sections, values swapped for other types, extreme numbers, unknown keys and unicode. Each
case must either be valid or fail with a clear error, ConfigError, whose every line names a key
path (or dvc.yaml); any other exception is a crash.

    python -m bench.params_fuzz [--cases 300] [--dvc]

prints the counts; `run()` returns them (bench/faults.py reports them); tests/test_params_fuzz.py
asserts the property with the same strategies."""

from __future__ import annotations

import argparse
import copy
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pipeline.core.errors import ConfigError
from pipeline.core.params import read_yaml
from pipeline.run import check

ROOT = Path(__file__).resolve().parents[1]
REAL = read_yaml(ROOT / "params.yaml")
SECTIONS = [*check.PER_ENTRY, *check.SHARED, *check.NESTED]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a parsed YAML tree (list items by index), parents before children."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    found = []
    for key, value in items:
        found.append(prefix + (key,))
        found += _paths(value, prefix + (key,))
    return found


def _at(tree: Any, path: tuple) -> Any:
    for key in path:
        tree = tree[key]
    return tree


PATHS = _paths(REAL)
MAPPINGS = [()] + [p for p in PATHS if isinstance(_at(REAL, p), dict)]  # where a key can be added

EXTREMES = [
    0,
    -1,
    1,
    2**31,
    2**32,
    2**63,
    -(2**63),
    10**100,
    0.0,
    -0.0,
    1e-308,
    1e308,
    -1e308,
    math.nan,
    math.inf,
    -math.inf,
    True,
    False,
    None,
    "",
    " ",
    "0",
    "nan",
    "${train}",
    "é",
    "\x00",
    "a" * 300,
    [],
    {},
    [0],
    [[]],
    {"": None},
    [1000000000, 512],
]
TEXT = st.text(max_size=12)  # any unicode, surrogates excluded (YAML cannot hold them)
VALUES = st.recursive(
    st.one_of(st.sampled_from(EXTREMES), TEXT, st.integers(), st.floats(), st.booleans(), st.none()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.one_of(TEXT, st.integers(), st.booleans()), inner, max_size=3)
    ),
    max_leaves=6,
)
DELETE = st.tuples(st.just("delete"), st.sampled_from(PATHS))
SET = st.tuples(st.just("set"), st.sampled_from(PATHS), VALUES)  # a type swap, an extreme number...
KEYS = st.one_of(TEXT, st.integers(), st.sampled_from(SECTIONS))  # YAML keys need not be strings: `1: x`
ADD = st.tuples(st.just("add"), st.sampled_from(MAPPINGS), KEYS, VALUES)
TOP = st.tuples(st.just("top"), st.just(()), VALUES)  # the whole file replaced: a list, a number, null...
OPERATIONS = st.one_of(DELETE, SET, ADD, DELETE, SET, TOP)  # one in six replaces the whole file
MUTATIONS = st.lists(OPERATIONS, min_size=1, max_size=3)


def mutate(ops: list[tuple]) -> Any:
    """The real params, changed by `ops` (an op on a path that an earlier one removed is skipped)."""
    params: Any = copy.deepcopy(REAL)
    for op, path, *rest in ops:
        if op == "top":
            params = copy.deepcopy(rest[0])
            continue
        parent = params
        for key in path[:-1] if op != "add" else path:
            if (
                not isinstance(parent, (dict, list))
                or (isinstance(parent, dict) and key not in parent)
                or (isinstance(parent, list) and not (isinstance(key, int) and key < len(parent)))
            ):
                break
            parent = parent[key]
        else:
            if op == "add" and isinstance(parent, dict):
                parent[rest[0]] = copy.deepcopy(rest[1])
            elif op != "add" and isinstance(parent, dict) and path[-1] in parent:
                if op == "delete":
                    del parent[path[-1]]
                else:
                    parent[path[-1]] = copy.deepcopy(rest[0])
            elif op != "add" and isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
                if op == "delete":
                    del parent[path[-1]]
                else:
                    parent[path[-1]] = copy.deepcopy(rest[0])
    return params


def unclear_lines(message: str, params: Any) -> list[str]:
    """The lines of a ConfigError that do not start with a key path (a section of params.yaml, of
    the sections allowed, or dvc.yaml)."""
    lines = message.splitlines()
    if len(lines) == 1:  # the whole file: "params.yaml: must be a mapping of sections, got list"
        return [] if lines[0].startswith("params.yaml: ") else lines
    keys = [*SECTIONS, "dvc.yaml", *(params if isinstance(params, dict) else [])]
    roots = {check._printable(form) for k in keys for form in (str(k), repr(k))}  # as make check shows them
    return [
        line
        for line in lines[1:]
        if not (line.startswith("  - ") and any(re.match(re.escape(r) + r"[.:]", line[4:]) for r in roots))
    ]


@dataclass
class Counts:
    cases: int = 0
    valid: int = 0
    clear: int = 0  # a ConfigError, every line naming its key
    unclear: int = 0  # a ConfigError with a line that names no key
    crashes: int = 0  # any other exception: a traceback for the user
    examples: list[str] = field(default_factory=list)  # the first few unclear or crashing cases


def classify(ops: list[tuple], dvc: bool = False) -> tuple[str, str]:
    """(outcome, detail) of one case: outcome is valid, clear, unclear or crash."""
    params = mutate(ops)
    try:
        check.validate(params, datasets=ROOT / "datasets", dvc_yaml=ROOT / "dvc.yaml" if dvc else None)
    except ConfigError as err:
        bad = unclear_lines(str(err), params)
        return ("unclear", f"{ops!r}: {bad[0]}") if bad else ("clear", "")
    except Exception as err:  # noqa: BLE001 - what the fuzzing looks for
        return "crash", f"{ops!r}: {type(err).__name__}: {err}"
    return "valid", ""


def run(cases: int = 300, dvc: bool = False, keep: int = 5) -> Counts:
    """`cases` generated cases (derandomized: the same ones every run), counted by outcome."""
    counts = Counts()

    @settings(
        max_examples=cases,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(MUTATIONS)
    def one(ops: list[tuple]) -> None:
        outcome, detail = classify(ops, dvc)
        counts.cases += 1
        name = "crashes" if outcome == "crash" else outcome
        setattr(counts, name, getattr(counts, name) + 1)
        if detail and len(counts.examples) < keep:
            counts.examples.append(detail[:400])

    one()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--dvc", action="store_true", help="also resolve dvc.yaml against each case (slower)")
    args = parser.parse_args()
    counts = run(args.cases, args.dvc)
    for key, value in asdict(counts).items():
        print(f"{key}: {value}" if key != "examples" else "\n".join(value))


if __name__ == "__main__":
    main()
