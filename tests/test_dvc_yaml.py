"""dvc.yaml declares exactly what each stage uses: its code (the pipeline modules it imports,
found by reading every import statement, including those inside functions), its params keys,
and a dataset list that covers every model."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
STAGES = DVC["stages"]
# Stages that build a model get the architecture's own module, imported by name at run time.
ARCH_MODULE = "pipeline/models/${item.arch}.py"


def module_file(name: str) -> Path | None:
    path = ROOT / Path(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.exists():
            return candidate
    return None


def imported_pipeline_files(script: Path) -> set[str]:
    """Every pipeline/ file `script` imports, directly or through other pipeline modules."""
    seen: set[Path] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text())):
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
                    if (found := module_file(".".join(parts[:i]))) is not None:
                        todo.append(found)
    return {str(p.relative_to(ROOT)) for p in seen}


def script_of(stage: dict) -> Path:
    cmd = stage["do"]["cmd"].split()
    return ROOT / (cmd[cmd.index("-m") + 1].replace(".", "/") + ".py")


@pytest.mark.parametrize("name", sorted(STAGES))
def test_code_deps_are_exactly_the_imported_modules(name):
    stage = STAGES[name]
    declared = {d for d in stage["do"]["deps"] if d.endswith(".py")}
    expected = imported_pipeline_files(script_of(stage))
    if "pipeline/models/__init__.py" in expected:
        expected.add(ARCH_MODULE)
    assert declared == expected, (f"{name}: missing from dvc.yaml deps: {sorted(expected - declared)}; "
                                  f"listed but not imported: {sorted(declared - expected)}")


def test_every_architecture_module_exists_where_dvc_yaml_expects_it():
    from pipeline.config import ARCH_PARAMS

    for arch in ARCH_PARAMS:
        assert (ROOT / ARCH_MODULE.replace("${item.arch}", arch)).exists()


def test_dataset_lists_cover_every_model():
    """download/normalize/augment run over one list; it must name every model's dataset."""
    lists = [STAGES[s]["foreach"] for s in ("download", "normalize", "augment")]
    assert lists[0] == lists[1] == lists[2]
    assert sorted(lists[0]) == sorted(f"${{train.{m}.dataset}}" for m in PARAMS["train"])


def test_per_model_stages_run_over_the_train_section():
    for name in ("train", "evaluate", "export"):
        assert STAGES[name]["foreach"] == "${train}"


def test_params_deps_are_the_stage_sections():
    assert [STAGES[s]["do"]["params"] for s in ("download", "normalize", "augment")] == \
        [["download.${item}"], ["normalize.${item}"], ["augment.${item}"]]
    assert STAGES["train"]["do"]["params"] == ["train.${key}"]
    assert STAGES["evaluate"]["do"]["params"] == ["evaluate"]
    assert STAGES["export"]["do"]["params"] == ["export"]
