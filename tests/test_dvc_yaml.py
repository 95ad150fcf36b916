"""dvc.yaml declares exactly what each stage uses: its code (the pipeline modules it imports,
found by reading every import statement, including those inside functions, plus the model
architecture it builds), its params keys, and dataset lists that cover every model."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from pipeline.config import ARCH_PARAMS, FAMILIES, read_yaml
from pipeline.data.sources import CORPUS, IMAGE, REVIEWS, TABULAR
from tests.conftest import ROOT

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())
PARAMS = read_yaml(ROOT / "params.yaml")
STAGES = DVC["stages"]
ARCH_MODULE = "pipeline/models/${item.arch}.py"  # a model's own architecture, imported by name


def module_file(name: str) -> Path | None:
    path = ROOT / Path(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.exists():
            return candidate
    return None


def imported_pipeline_files(*scripts: Path) -> set[str]:
    """Every pipeline/ file the scripts import, directly or through other pipeline modules."""
    seen: set[Path] = set()
    todo = list(scripts)
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
    """The stage script a cmd runs: `python -m stages.x`, or `${distributed.launcher} stages.x`."""
    cmd = stage["do"]["cmd"].split()
    at = cmd.index("${distributed.launcher}") if "${distributed.launcher}" in cmd else cmd.index("-m")
    return ROOT / (cmd[at + 1].replace(".", "/") + ".py")


def section_of(stage: dict) -> str | None:
    """The params section a per-model stage runs over (foreach: ${train} -> train)."""
    each = stage["foreach"]
    return each[2:-1] if isinstance(each, str) and each[2:-1] in FAMILIES else None


def expected_code(stage: dict) -> set[str]:
    files = imported_pipeline_files(script_of(stage))
    section = section_of(stage)
    if section and all("arch" in m for m in PARAMS[section].values()) and "pipeline/models/__init__.py" in files:
        archs = {m["arch"] for m in PARAMS[section].values()}
        if "transfer" in archs:  # a pipeline backbone can be any image architecture
            archs |= set(ARCH_PARAMS)
        modules = [ROOT / f"pipeline/models/{arch}.py" for arch in archs]
        own = {f"pipeline/models/{m['arch']}.py" for m in PARAMS[section].values()}
        files = (files | imported_pipeline_files(*modules)) - own | {ARCH_MODULE}
    return files


@pytest.mark.parametrize("name", sorted(STAGES))
def test_code_deps_are_exactly_the_imported_modules(name):
    declared = {d for d in STAGES[name]["do"]["deps"] if d.endswith(".py")}
    expected = expected_code(STAGES[name])
    assert declared == expected, (f"{name}: missing from dvc.yaml deps: {sorted(expected - declared)}; "
                                  f"listed but not imported: {sorted(declared - expected)}")


def test_every_architecture_module_exists_where_dvc_yaml_expects_it():
    from pipeline.config import ALL_ARCHS

    for arch in ALL_ARCHS:
        assert (ROOT / ARCH_MODULE.replace("${item.arch}", arch)).exists(), arch


def data_refs(*kinds: str) -> list[str]:
    """${section.model.key} for every model whose family reads data of these kinds."""
    return sorted(f"${{{section}.{name}.{key}}}" for section, (_, key, kind) in FAMILIES.items()
                  if kind in kinds for name in PARAMS[section])


@pytest.mark.parametrize("stage, kinds", [
    ("download", None), ("normalize", (IMAGE, TABULAR)), ("augment", (IMAGE,)), ("encode_text", (CORPUS,)),
    ("encode_reviews", (REVIEWS,)),
])
def test_dataset_lists_cover_every_model(stage, kinds):
    """A data stage runs over the datasets that the models of its kinds name, and no others."""
    expected = data_refs(*kinds) if kinds else sorted(
        f"${{{s}.{n}.{k}}}" for s, (_, k, _) in FAMILIES.items() for n in PARAMS[s])
    assert sorted(STAGES[stage]["foreach"]) == expected


def test_every_family_has_train_evaluate_and_export_over_its_section():
    for section in ("train", "transfer", "tabular", "charrnn", "sentiment"):
        suffix = "" if section == "train" else f"_{section}"
        for step in ("train", "evaluate", "export"):
            assert STAGES[f"{step}{suffix}"]["foreach"] == f"${{{section}}}", f"{step}{suffix}"
    assert STAGES["style"]["foreach"] == "${style}" and STAGES["backbone"]["foreach"] == "${backbones}"


def test_params_deps_are_the_stage_sections():
    for stage in ("download", "normalize", "augment", "encode_text", "encode_reviews"):
        assert STAGES[stage]["do"]["params"] == [f"{stage}.${{item}}"]
    for stage, section in (("train_transfer", "transfer"), ("train_tabular", "tabular"),
                           ("train_charrnn", "charrnn"), ("train_sentiment", "sentiment"), ("style", "style")):
        assert STAGES[stage]["do"]["params"] == [f"{section}.${{key}}", "runtime"], stage
    # Image models also train under the launcher that distributed.launcher names (torchrun).
    assert STAGES["train"]["do"]["params"] == ["train.${key}", "runtime", "distributed"]
    assert STAGES["train"]["do"]["cmd"].startswith("${distributed.launcher} stages.train ")
    assert STAGES["backbone"]["do"]["params"] == ["backbones.${key}"]
    for stage, spec in STAGES.items():
        if stage.startswith("evaluate"):
            assert spec["do"]["params"] == (["runtime"] if stage == "evaluate_charrnn" else ["evaluate", "runtime"])
        if stage.startswith("export"):
            assert spec["do"]["params"] == ["export"], stage


def test_stages_that_set_the_runtime_declare_it():
    """A stage whose script applies params.runtime must rerun when runtime changes, and only then."""
    for name, stage in STAGES.items():
        calls = "configure(" in script_of(stage).read_text()
        assert calls == ("runtime" in stage["do"].get("params", [])), name


def test_a_transfer_model_depends_on_its_backbone_checkpoint():
    assert "models/${item.backbone}/model.pt" in STAGES["train_transfer"]["do"]["deps"]
    assert "models/${item.vgg}/model.pt" in STAGES["style"]["do"]["deps"]


def test_only_metrics_escape_the_cache():
    """DVC keeps a run-cache entry only for stages whose outputs are all cached, metrics and plots
    excepted; a `cache: false` output anywhere else would silently turn the run-cache off."""
    for name, stage in STAGES.items():
        for out in stage["do"].get("outs", []):
            spec = out if isinstance(out, dict) else {out: {}}
            for path, props in spec.items():
                assert (props or {}).get("cache", True), f"{name}: {path} is cache: false outside metrics"
        for metric in stage["do"].get("metrics", []):
            path, props = next(iter(metric.items()))
            assert path.startswith("metrics/") and props == {"cache": False}, name
