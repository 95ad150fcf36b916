"""The report page (stage report) on real outputs: one self-contained file that a browser with no
network draws whole, the same bytes on every run, a section per model with the course's figure
beside the run's; a model without its metrics stops the stage with one line and writes nothing."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from pipeline.core.params import read_yaml
from pipeline.report.page import COURSE, LIMIT
from pipeline.schema.families import FAMILIES
from tests.browser import blank, dump_dom, remote_references, screenshot
from tests.conftest import ROOT
from tests.helpers.stages import run_stage

# The stage's options and the folders they name, as dvc.yaml's report cmd has them.
FOLDERS = {
    "metrics": "metrics",
    "deploy": "metrics/deploy",
    "gates": "metrics/gates",
    "curves": "plots/curves",
    "style-curves": "plots/style",
    "pictures": "reports",
    "gate-plots": "reports/gates",
    "filters": "reports/filters",
    "augmented": "data/augmented",
}
OUT = "reports/index.html"
STAGE = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["report"]


def models(params: dict) -> list[str]:
    return [name for section in FAMILIES for name in params.get(section, {})]


@pytest.fixture(scope="module")
def outputs(reproduced, tmp_path_factory) -> Path:
    """A copy of a real run's outputs (what the stage reads: the shrunk project after `make repro`'s
    command), its params.yaml, and the page its report stage wrote (as dvc-page.html)."""
    source = reproduced[0].path
    root = tmp_path_factory.mktemp("outputs")
    for folder in ("metrics", "plots", "reports", "data/augmented"):
        shutil.copytree(source / folder, root / folder, ignore=shutil.ignore_patterns("index.html"))
    shutil.copy(source / "params.yaml", root / "params.yaml")
    shutil.copy(source / OUT, root / "dvc-page.html")
    return root


def report(root: Path, out: Path) -> subprocess.CompletedProcess:
    args = [a for option, folder in FOLDERS.items() for a in (f"--{option}", str(root / folder))]
    return run_stage("report", *args, "--out", out, params=root / "params.yaml")


@pytest.fixture(scope="module")
def page(outputs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("page") / "index.html"
    proc = report(outputs, out)
    assert proc.returncode == 0, proc.stderr
    return out


def sections(html: str) -> dict[str, str]:
    """Each <section>'s id and its text, tags removed."""
    return {
        m.group(1): re.sub(r"<[^>]+>", " ", m.group(2))
        for m in re.finditer(r'<section id="([^"]+)">(.*?)</section>', html, re.S)
    }


@pytest.mark.slow  # the shrunk pipeline's full run (`reproduced`)
def test_the_page_is_one_small_file_that_loads_nothing_and_repeats_its_bytes(outputs, page, tmp_path):
    html = page.read_text()
    assert remote_references(html) == []
    assert re.findall(r"""\bsrc\s*=\s*(?!["']?data:image/png;base64,)[^\s>]{0,40}""", html) == []
    assert re.findall(r"(?i)<script|<link\b|@import|url\(", html) == []  # nothing else that could fetch
    assert 100_000 < page.stat().st_size < LIMIT
    again = tmp_path / "index.html"
    assert report(outputs, again).returncode == 0
    assert again.read_bytes() == page.read_bytes()
    assert (outputs / "dvc-page.html").read_bytes() == page.read_bytes()  # as `dvc repro` wrote it


@pytest.mark.slow  # the shrunk pipeline's full run (`reproduced`)
def test_every_model_has_its_section_with_the_course_figure_beside_the_run(outputs, page):
    params = read_yaml(outputs / "params.yaml")
    found = sections(page.read_text())
    for name in models(params):
        assert f"model-{name}" in found, name
        assert f'href="#model-{name}"' in page.read_text()  # in the table of contents
    for name in params["gates"]["models"]:
        assert f"gates-{name}" in found, name
    compared = [name for name in COURSE if name in models(params)]
    assert compared, "no model of params.yaml has a course figure"
    for name in compared:
        ref, text = COURSE[name], " ".join(found[f"model-{name}"].split())
        section, data = next(
            (s, e[FAMILIES[s].data_key]) for s in FAMILIES for n, e in params.get(s, {}).items() if n == name
        )
        metrics = read_yaml(outputs / "metrics" / f"{name}.json")
        run = metrics[ref.split][ref.metric]
        shown = f"{100 * run:.2f} %" if ref.metric == "accuracy" else f"{run:.4g}"
        assert f"Course: {ref.figure()} on {ref.data}" in text, text[:400]
        assert f"This run: {shown} on {data}" in text, text[:400]
        assert f"{section}.{name}.{FAMILIES[section].data_key}" in text
    # The deployment table: LibTorch's figure, and ONNX Runtime's bound in the same column (issue 25)
    atol = params["export"]["atol"]
    html = page.read_text()
    for name in ("mlp", "cnn"):
        section = re.search(rf'<section id="model-{name}">(.*?)</section>', html, re.S)[1]
        assert "<th>largest |difference| from eager</th>" in section and "at most" not in section
        assert re.search(rf'<th scope="row">ONNX Runtime \(model.onnx\)</th>.*?<td>≤ {atol:g}</td></tr>', section), name


@pytest.mark.slow  # the shrunk pipeline's full run (`reproduced`)
def test_a_browser_with_no_network_decodes_every_picture(page, tmp_path):
    html = page.read_text()
    count = html.count("<img ")
    assert count >= 10
    # A copy with a script that records, once loaded, how many pictures decoded (the page has none).
    probe = tmp_path / "probe.html"
    probe.write_text(
        html.replace(
            "</body>",
            "<script>window.addEventListener('load', () => {"
            "const imgs = [...document.images]; document.body.dataset.decoded = "
            "imgs.filter(i => i.complete && i.naturalWidth > 0).length; document.body.dataset."
            "broken = imgs.filter(i => !(i.naturalWidth > 0)).map(i => i.alt).join('|');});"
            "</script></body>",
        )
    )
    dom = dump_dom(probe)
    assert f'data-decoded="{count}"' in dom, re.findall(r'data-(?:decoded|broken)="[^"]*"', dom)
    assert 'data-broken=""' in dom
    shot = screenshot(page, tmp_path / "page.png", 1280, 2400)
    assert not blank(shot)


@pytest.mark.slow  # the shrunk pipeline's full run (`reproduced`)
def test_missing_pictures_are_left_out(outputs, tmp_path):
    copy = tmp_path / "outputs"
    shutil.copytree(outputs, copy)
    params = read_yaml(copy / "params.yaml")
    name = next(iter(params["train"]))
    # Two models only (the page stays valid with a section or several absent): seconds, not tens.
    two = {n: params["train"][n] for n in list(params["train"])[:2]}
    (copy / "params.yaml").write_text(yaml.safe_dump({"train": two}))
    shutil.rmtree(copy / "reports" / name)
    shutil.rmtree(copy / "plots" / "curves" / name)
    out = tmp_path / "index.html"
    proc = report(copy, out)
    assert proc.returncode == 0, proc.stderr
    section = re.search(rf'<section id="model-{name}">(.*?)</section>', out.read_text(), re.S).group(1)
    assert "<img" not in section and "Metrics" in section
    assert out.read_text().count('<section id="model-') == 2 and "gates-" not in out.read_text()


@pytest.mark.slow  # the shrunk pipeline's full run (`reproduced`)
def test_a_model_without_metrics_is_one_line_naming_the_file_and_its_stage(outputs, tmp_path):
    copy = tmp_path / "outputs"
    shutil.copytree(outputs, copy)
    name = list(read_yaml(copy / "params.yaml")["train"])[-1]
    missing = copy / "metrics" / f"{name}.json"
    missing.unlink()
    out = tmp_path / "report" / "index.html"
    proc = report(copy, out)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0] and f"evaluate@{name}" in lines[0], proc.stderr
    assert not out.parent.exists()  # nothing written, not even the folder


def test_dvc_yaml_runs_it_on_what_it_reads():
    """The stage's cmd names the folders it reads; its deps are those folders, and each model's own
    folder under reports/ (the page sits in reports/: DVC refuses a dep that holds the stage's out)."""
    cmd, deps = STAGE["cmd"].split(), set(STAGE["deps"])
    assert [cmd[cmd.index(f"--{option}") + 1] for option in FOLDERS] == list(FOLDERS.values())
    assert cmd[cmd.index("--out") + 1] == OUT and STAGE["outs"] == [OUT]
    params = read_yaml(ROOT / "params.yaml")
    own = {f"reports/{name}" for name in [*models(params), "gates", "filters"]}
    data = {folder for folder in FOLDERS.values() if not folder.startswith("reports")}
    covered = {d for d in deps if not d.endswith((".py", ".j2")) and d != "pipeline/core"}
    assert covered == own | {d for d in data if not any(d.startswith(o + "/") for o in data)}, covered
    assert "pipeline/report/templates/report.html.j2" in deps
    assert set(STAGE["params"]) == {*FAMILIES, "gates.models"}
