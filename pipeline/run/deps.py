"""Each stage's code dependencies in dvc.yaml, generated from the imports (`make deps`).

A stage depends on its script, the `pipeline/` modules the script imports (directly or through
other modules, including imports inside functions, and each package's `__init__.py`), the core
folder (`pipeline/core`, which every stage imports), and for a per-model stage the architecture's
model and schema modules it builds by name (`pipeline/models/${item.arch}.py`). This module finds
them by reading the import statements, and rewrites each stage's `deps:` list in place: its other
deps (data, folders, non-Python files) stay first, as written; the script and the library code follow,
sorted, a folder in place of its modules where the stage imports every one (pipeline/training/engine).
`python -m pipeline.run.deps --check` (tests/test_dvc_yaml.py) says which stages disagree."""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import yaml

from pipeline.core.io import atomic_open
from pipeline.schema.families import FAMILIES

ROOT = Path(__file__).resolve().parents[2]
CORE = "pipeline/core"
# The package's own __init__ runs in every stage; it only imports the core's kernel pins (`root_problem`
# checks), so the core folder covers it and no stage lists it.
ROOT_INIT, ROOT_IMPORT = "pipeline/__init__.py", "import pipeline.core.kernels"
ARCH_FILES = ("pipeline/models/${item.arch}.py", "pipeline/schema/${item.arch}.py")  # imported by name
CHECKPOINT = "pipeline/weights/checkpoint.py"  # loading or saving a checkpoint builds the model by name
WIDTH = 120


def module_file(root: Path, name: str) -> Path | None:
    """The file of module `name` (a package's __init__.py), or None outside the project."""
    path = root / Path(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.exists():
            return candidate
    return None


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of `tree` but those under `if TYPE_CHECKING:` (imports for annotations only, which
    never run, so a change there cannot change an output)."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return found


def imported_files(root: Path, *scripts: Path) -> set[str]:
    """Every pipeline/ file the scripts import, directly or through other pipeline modules, with
    the scripts themselves (paths relative to `root`)."""
    seen: set[Path] = set()
    todo = list(scripts)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in _runtime_nodes(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] != "pipeline":
                    continue
                for i in range(1, len(parts) + 1):  # a package's __init__ runs too
                    if (found := module_file(root, ".".join(parts[:i]))) is not None:
                        todo.append(found)
    return {str(p.relative_to(root)) for p in seen}


def body(stage: dict) -> dict:
    """A stage's cmd, deps and outs: under `do` for a foreach stage."""
    return stage.get("do", stage)


def script_of(root: Path, stage: dict) -> Path:
    """The stage script a cmd runs: `python -m stages.x`, or `${distributed.launcher} stages.x`."""
    cmd = body(stage)["cmd"].split()
    at = cmd.index("${distributed.launcher}") if "${distributed.launcher}" in cmd else cmd.index("-m")
    return root / (cmd[at + 1].replace(".", "/") + ".py")


def entries_of(stage: dict, params: dict) -> dict | None:
    """The model entries a per-model stage runs over: a family's section, or the gates' models."""
    each = stage.get("foreach")
    if each == "${gates.models}":
        return params["gates"]["models"]
    section = each[2:-1] if isinstance(each, str) else None
    return params[section] if section in FAMILIES else None


def expected_code(root: Path, stage: dict, params: dict) -> set[str]:
    """The script's imports; for a model family, with its architectures' modules (imported by
    name) followed too, their own files written as the ${item.arch} templates."""
    files = imported_files(root, script_of(root, stage))
    entries = entries_of(stage, params)
    if entries and CHECKPOINT in files and all("arch" in m for m in entries.values()):
        own = {f.replace("${item.arch}", m["arch"]) for m in entries.values() for f in ARCH_FILES}
        files = (files | imported_files(root, *(root / f for f in own))) - own | set(ARCH_FILES)
    return files


def shared_code(root: Path, stages: dict, params: dict) -> dict[int, set[str]]:
    """Expected code per stage body: stages that share one body through a YAML anchor (`do: *export`)
    share its deps, so theirs is the union of what each one imports."""
    code: dict[int, set[str]] = {}
    for stage in stages.values():
        code.setdefault(id(body(stage)), set()).update(expected_code(root, stage, params))
    return code


def with_core(root: Path, code: set[str]) -> set[str]:
    """`code` as a stage depends on it: importing any module of the core folder (or the package's
    __init__, which imports it) means the whole folder."""
    core = modules(root, CORE) | {ROOT_INIT}
    return code | core if code & core else code


def root_problem(root: Path) -> str | None:
    """Why pipeline/__init__.py cannot go unlisted (it does more than import the kernel pins), or None."""
    tree = ast.parse((root / ROOT_INIT).read_text())
    statements = [
        ast.unparse(s) for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
    ]
    if statements != [ROOT_IMPORT]:
        return (
            f"{ROOT_INIT}: holds more than `{ROOT_IMPORT}` (a docstring aside), yet no stage lists it "
            "(the core folder covers it): move the code into pipeline/core/"
        )
    return None


def modules(root: Path, folder: str) -> set[str]:
    """The Python files under `folder`, at any depth (bytecode caches aside)."""
    return {str(p.relative_to(root)) for p in (root / folder).rglob("*.py") if "__pycache__" not in p.parts}


def code_folders(root: Path) -> list[str]:
    """The folders under pipeline/ that hold only Python modules, shallowest first: a stage that imports
    every module of one depends on the folder, one entry for the same files."""
    found = []
    for folder in sorted((root / "pipeline").rglob("*/"), key=lambda p: (len(p.parts), p)):
        files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        if folder.is_dir() and "__pycache__" not in folder.parts and files and all(p.suffix == ".py" for p in files):
            found.append(str(folder.relative_to(root)))
    return found


def as_deps(root: Path, code: set[str]) -> set[str]:
    """`code` (files) as dvc.yaml lists it: a folder whose modules are all in it as the folder."""
    entries = set(with_core(root, code))
    for folder in code_folders(root):
        if (inside := modules(root, folder)) <= entries:
            entries = entries - inside | {folder}
    return entries - {ROOT_INIT} if CORE in entries else entries


def declared_code(root: Path, stage: dict) -> set[str]:
    """Code deps as files: a folder of modules stands for the modules in it."""
    files = set()
    for dep in body(stage)["deps"]:
        if dep.endswith(".py"):
            files.add(dep)
        elif dep.startswith("pipeline/") and (root / dep).is_dir():
            files |= modules(root, dep) | ({ROOT_INIT} if dep == CORE else set())
    return files


def wanted(root: Path, stage: dict, code: set[str]) -> list[str]:
    """The stage's deps as they should be: its other deps as written, then `code`, sorted (a folder in
    place of its modules where the stage imports them all)."""
    folders = set(code_folders(root))
    other = [d for d in body(stage)["deps"] if not (d.endswith(".py") or d in folders)]
    script = str(script_of(root, stage).relative_to(root))
    return other + [script] + sorted(as_deps(root, code) - {script})


def _item(text: str) -> str:
    return f'"{text}"' if re.search(r"[{}\[\],:#\s\"']", text) else text


def _flow(indent: int, items: list[str]) -> list[str]:
    """`deps: [a, b, ...]` wrapped at WIDTH, continuation lines under the first item."""
    lines, line = [], " " * indent + "deps: ["
    pad = " " * len(line)
    for i, item in enumerate(items):
        word = _item(item) + ("]" if i == len(items) - 1 else ",")
        if len(line) + 1 + len(word) > WIDTH and not line.endswith("["):
            lines.append(line)
            line = pad + word
        else:
            line += ("" if line.endswith("[") else " ") + word
    return [*lines, line]


def rewrite(root: Path) -> tuple[str, list[str]]:
    """dvc.yaml's text with every stage's deps as `wanted`, and the names of the stages changed."""
    text = (root / "dvc.yaml").read_text()
    stages = yaml.safe_load(text)["stages"]
    params = yaml.safe_load((root / "params.yaml").read_text())
    shared = shared_code(root, stages, params)
    lines = text.splitlines()
    changed = []
    starts = [i for i, line in enumerate(lines) if re.match(r"^  [\w-]+:\s*(#.*)?$", line)]
    for start, end in reversed(list(zip(starts, [*starts[1:], len(lines)]))):  # bottom up: indices above hold
        name = lines[start].strip().split(":")[0]
        at = next((i for i in range(start, end) if re.match(r"^\s+deps:\s*\[", lines[i])), None)
        if at is None or name not in stages:
            continue
        close = next(i for i in range(at, end) if lines[i].rstrip().endswith("]"))
        new = _flow(
            len(lines[at]) - len(lines[at].lstrip()), wanted(root, stages[name], shared[id(body(stages[name]))])
        )
        if lines[at : close + 1] != new:
            lines[at : close + 1] = new
            changed.insert(0, name)
    return "\n".join(lines) + "\n", changed


def stale(root: Path = ROOT) -> list[str]:
    """The stages whose code deps in dvc.yaml are not what their imports say."""
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    params = yaml.safe_load((root / "params.yaml").read_text())
    shared = shared_code(root, stages, params)
    return [
        name for name, stage in stages.items() if declared_code(root, stage) != with_core(root, shared[id(body(stage))])
    ]


def main(argv: list[str] | None = None) -> int:
    """`make deps`: rewrite dvc.yaml's code deps; with --check, only say which stages disagree."""
    ap = argparse.ArgumentParser(prog="python -m pipeline.run.deps", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if dvc.yaml's code deps are not the imports")
    args = ap.parse_args(argv)
    if problem := root_problem(ROOT):
        print(problem)
        return 1
    if args.check:
        if found := stale(ROOT):
            print(f"dvc.yaml: code deps differ from the imports for {', '.join(found)}; run `make deps`")
            return 1
        return 0
    text, changed = rewrite(ROOT)
    if changed:
        with atomic_open(ROOT / "dvc.yaml") as fh:
            fh.write(text)
    print(f"dvc.yaml: code deps rewritten for {', '.join(changed)}" if changed else "dvc.yaml: code deps up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
