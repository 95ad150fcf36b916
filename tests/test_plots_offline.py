"""`dvc plots show` and `dvc plots diff` draw with no network: the project's `.dvc/config` points DVC
at vendor/vega/template.html, which inlines vega, vega-lite and vega-embed as published on npm
(docs/plots.md). The real dvc CLI in a small git repository, the page opened in headless Chromium
with the network cut off; DVC's own template, which loads the three from a CDN, is the control."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.browser import blank, dump_dom, remote_references, screenshot
from tests.conftest import ROOT, load_script, sh

VENDOR = ROOT / "vendor" / "vega"
fetch = load_script("vendor/vega/fetch.py")
DVC = str(Path(sys.executable).parent / "dvc")
INLINED = re.compile(r'<script data-package="([^"]+)">\n(.*?)</script>', re.S)
DRAWN = re.compile(r'<(?:canvas|svg)\b[^>]*\bclass="marks"')  # what a vega View draws into

DVC_YAML = """\
plots:
  - curve.csv:
      x: epoch
      y: [train, validation]
  - confusion.csv:
      template: confusion
      x: actual
      y: predicted
  - picture.png
"""
VEGA_PLOTS = 2  # the curve and the confusion matrix; picture.png is an image


# --- the vendored files and the template ------------------------------------------------------


def test_vendored_files_match_their_recorded_sha256():
    sources = fetch.load_sources()
    assert [p["name"] for p in sources["packages"]] == ["vega", "vega-lite", "vega-embed"]  # load order
    assert fetch.problems(sources) == []


def test_the_template_inlines_the_vendored_files_byte_for_byte():
    sources = fetch.load_sources()
    template = (VENDOR / sources["template"]["file"]).read_bytes()
    assert fetch.render_template(sources) == template  # regenerated from the files: the same bytes
    assert fetch.sha256(template) == sources["template"]["sha256"]
    text = template.decode("utf-8")
    inlined = INLINED.findall(text)
    assert [name for name, _ in inlined] == [f"{p['name']}@{p['version']}" for p in sources["packages"]]
    for (_, code), p in zip(inlined, sources["packages"]):
        assert code.encode("utf-8") == (VENDOR / fetch.script_file(p)).read_bytes()
    assert text.count("<script") == 3 and "{scripts}" not in text  # DVC's CDN tags have nowhere to go
    assert "{plot_divs}" in text and remote_references(text) == []


def test_the_check_catches_a_changed_file_or_a_stale_template(tmp_path):
    folder = shutil.copytree(VENDOR, tmp_path / "vega")
    sources = fetch.load_sources()
    js = folder / "vega-embed.min.js"
    js.write_bytes(js.read_bytes().replace(b"vegaEmbed", b"vegaEmbeD", 1))
    assert fetch.problems(sources, folder) == ["vega-embed.min.js does not match its sha256 in sources.json"]
    shutil.copy2(VENDOR / "vega-embed.min.js", js)
    (folder / "template.html").write_text("{plot_divs}")
    assert fetch.problems(sources, folder) == ["template.html is not what the vendored files generate"]


def test_code_that_would_end_its_script_tag_is_refused(tmp_path):
    folder = shutil.copytree(VENDOR, tmp_path / "vega")
    with (folder / "vega-lite.min.js").open("a") as f:
        f.write('document.write("</script>");\n')
    with pytest.raises(SystemExit, match="contains '</script'"):
        fetch.render_template(fetch.load_sources(), folder)


def test_the_project_config_points_dvc_at_the_template():
    value = sh([DVC, "config", "--project", "plots.html_template"], ROOT).stdout.strip()
    # DVC resolves a relative plots.html_template against the .dvc folder (dvc/commands/plots.py).
    assert (ROOT / ".dvc" / value).resolve() == VENDOR / "template.html"


# --- the real dvc CLI and a real browser --------------------------------------------------------


def write_revision(repo: Path, last: float, shade: int) -> None:
    from PIL import Image, ImageDraw

    rows = [f"{e},{last + 1 / e:.3f},{last + 1.5 / e:.3f}" for e in range(1, 11)]
    (repo / "curve.csv").write_text("epoch,train,validation\n" + "\n".join(rows) + "\n")
    pairs = [(a, p) for a in "abc" for p in "abc" for _ in range(3 if a == p else 1)]
    (repo / "confusion.csv").write_text("actual,predicted\n" + "".join(f"{a},{p}\n" for a, p in pairs))
    image = Image.new("RGB", (160, 90), (255, 255, 255))
    ImageDraw.Draw(image).rectangle((20, 20, 140, 70), fill=(shade, 60, 255 - shade))
    image.save(repo / "picture.png")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git + DVC repository with the project's .dvc/config and template, and two revisions of
    three plots (a curve, a confusion matrix, an image)."""
    path = tmp_path_factory.mktemp("plots") / "repo"
    path.mkdir()
    sh(["git", "init", "-q"], path)
    sh([DVC, "init", "-q"], path)
    shutil.copy2(ROOT / ".dvc" / "config", path / ".dvc" / "config")
    shutil.copytree(VENDOR, path / "vendor" / "vega")
    (path / "dvc.yaml").write_text(DVC_YAML)
    for message, last, shade in (("first", 0.5, 40), ("second", 0.1, 200)):
        write_revision(path, last, shade)
        sh(["git", "add", "-A"], path)
        sh(["git", "commit", "-qm", message], path)
    return path


def drawn(page: Path, shots: Path) -> tuple[str, str]:
    """(the page as DVC wrote it, its DOM after the scripts ran offline, less the scripts: the inlined
    code holds `<img src=...>` in its strings); a screenshot is kept in `shots` (look at it) and
    must not be blank."""
    html = page.read_text(encoding="utf-8")
    dom = re.sub(r"<script\b.*?</script>", "", dump_dom(page), flags=re.S)
    assert not blank(screenshot(page, shots / f"{page.parent.name}.png", height=1400))
    return html, dom


def revisions(html: str) -> list[set[str]]:
    """The revisions in the data of each vega chart on a page DVC wrote."""
    specs = [json.loads(s) for s in re.findall(r"var spec = (\{.*\});\n", html)]
    return [{row["rev"] for row in spec["data"]["values"]} for spec in specs]


@pytest.mark.slow
@pytest.mark.parametrize(
    "command, revs, images",
    [(["show"], {"workspace"}, 1), (["diff", "HEAD~1", "HEAD"], {"HEAD~1", "HEAD"}, 2)],
    ids=["show", "diff"],
)
def test_dvc_plots_draw_every_chart_offline(repo, tmp_path, command, revs, images):
    out = tmp_path / command[0]
    sh([DVC, "plots", *command, "-o", str(out)], repo)
    html, dom = drawn(out / "index.html", tmp_path)
    assert remote_references(html) == []
    assert revisions(html) == [revs] * VEGA_PLOTS  # a diff puts both revisions in each chart
    assert len(DRAWN.findall(dom)) == VEGA_PLOTS, "a vega chart was not drawn"
    sources = re.findall(r'<img\b[^>]*\bsrc="([^"]+)"', dom)
    assert len(sources) == images and all((out / s).is_file() for s in sources)


@pytest.mark.slow
def test_dvc_default_template_draws_nothing_offline(repo, tmp_path):
    """The control: without the setting, DVC's page loads the three from a CDN, and offline no
    chart is drawn. So the check above can fail."""
    sh([DVC, "config", "--local", "plots.html_template", ""], repo)  # shadows the project setting
    try:
        sh([DVC, "plots", "show", "-o", str(tmp_path / "default")], repo)
    finally:
        sh([DVC, "config", "--local", "--unset", "plots.html_template"], repo)
    html, dom = drawn(tmp_path / "default" / "index.html", tmp_path)
    assert len(remote_references(html)) == 3 and "cdn.jsdelivr.net" in html
    assert revisions(html) == [{"workspace"}] * VEGA_PLOTS and DRAWN.findall(dom) == []
