"""The library's tree shows its architecture (docs/design.md, "The library's layout"): `pipeline/`
holds one package per job and its `__init__.py` alone, every package imports only the packages
below it, each stage script calls a module named as the stage is, and every public function says
what it does."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PIPELINE = ROOT / "pipeline"
# Bottom to top: a package may import the ones before it, never one after it.
FLOORS = ("core", "schema", "data", "models", "weights", "inspection", "training", "deployment", "report", "run")
# Stage scripts whose module is named for what it does rather than the stage (the stage name says
# the step, e.g. `train_transfer`; the module sits in the package of that step's job).
STAGE_MODULES = {
    "download": "data/fetch.py", "normalize": "data/normalize.py", "augment": "data/augment.py",
    "encode_text": "data/text.py", "encode_reviews": "data/text.py", "backbone": "weights/backbone.py",
    "train": "training/train.py", "train_transfer": "training/transfer.py", "train_tabular": "training/tabular.py",
    "train_charrnn": "training/charrnn.py", "train_sentiment": "training/sentiment.py", "gates": "training/gates.py",
    "style": "training/style.py", "evaluate": "inspection/evaluate.py", "evaluate_charrnn": "inspection/evaluate_charrnn.py",
    "boundary": "inspection/boundary.py", "visualize": "inspection/visualize.py", "filters": "inspection/filters.py",
    "predictions": "inspection/predictions.py", "export": "deployment/export.py",
    "export_charrnn": "deployment/export_charrnn.py", "deploy": "deployment/deploy.py",
    "deploy_charrnn": "deployment/deploy_charrnn.py", "build_cpp": "deployment/cpp.py", "report": "report/page.py",
}  # fmt: skip


def imports(path: Path) -> set[str]:
    """The `pipeline.<package>` names a file imports (inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        found |= {n.split(".")[1] for n in names if n.startswith("pipeline.") and (PIPELINE / n.split(".")[1]).is_dir()}
    return found


def test_pipeline_holds_packages_and_its_init_alone():
    files = sorted(p.name for p in PIPELINE.iterdir() if p.is_file())
    packages = sorted(p.name for p in PIPELINE.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert files == ["__init__.py"], files
    assert packages == sorted(FLOORS), packages


@pytest.mark.parametrize("package", FLOORS)
def test_a_package_imports_only_the_packages_below_it(package):
    below = set(FLOORS[: FLOORS.index(package)])
    upward = {
        str(path.relative_to(ROOT)): sorted(imports(path) - below - {package})
        for path in sorted((PIPELINE / package).rglob("*.py"))
        if imports(path) - below - {package}
    }
    assert not upward, f"{package} imports packages above it: {upward}"


def test_every_stage_calls_the_module_named_for_it():
    scripts = sorted(p.stem for p in (ROOT / "stages").glob("*.py") if p.stem != "__init__")
    assert sorted(STAGE_MODULES) == scripts
    for stage, module in STAGE_MODULES.items():
        dotted = "pipeline." + module.removesuffix(".py").replace("/", ".")
        text = (ROOT / "stages" / f"{stage}.py").read_text()
        assert f"from {dotted} import" in text or f"from {dotted.rpartition('.')[0]} import" in text, (stage, dotted)


def test_every_public_function_of_the_library_says_what_it_does():
    missing = []
    for path in sorted(PIPELINE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        nodes = [(n, n.name) for n in tree.body if isinstance(n, ast.FunctionDef)]
        nodes += [(m, f"{c.name}.{m.name}") for c in tree.body if isinstance(c, ast.ClassDef) and not c.name.startswith("_")
                  for m in c.body if isinstance(m, ast.FunctionDef)]  # fmt: skip
        missing += [f"{path.relative_to(ROOT)}:{n.lineno} {name}" for n, name in nodes
                    if not name.split(".")[-1].startswith("_") and ast.get_docstring(n) is None]  # fmt: skip
    assert not missing, f"{len(missing)} public functions without a docstring: {missing}"


def test_every_error_class_is_a_pipeline_error_in_core_errors():
    errors = ROOT / "pipeline" / "core" / "errors.py"
    elsewhere = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"
        for path in sorted(PIPELINE.rglob("*.py"))
        if path != errors
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and any(ast.unparse(b).endswith(("Error", "Exception")) for b in node.bases)
    ]
    assert not elsewhere, f"error classes outside pipeline/core/errors.py: {elsewhere}"
    from pipeline.core import errors as module

    classes = [c for c in vars(module).values() if isinstance(c, type) and c.__module__ == module.__name__]
    assert classes and all(issubclass(c, module.PipelineError) for c in classes), classes


def test_the_family_table_names_kinds_of_data_the_sources_know():
    from pipeline.data.sources import CORPUS, IMAGE, PHOTOS, REVIEWS, TABULAR
    from pipeline.schema.families import FAMILIES

    assert {f.kind for f in FAMILIES.values()} == {IMAGE, TABULAR, CORPUS, REVIEWS, PHOTOS}
