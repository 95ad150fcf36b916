"""pipeline/run/dvc.py against the installed DVC: every piece of DVC the `make repro` tooling reads
(the words `dvc repro` prints, `dvc dag --dot`, the exit line of a failed stage, DVC's resolver of
dvc.yaml, a stage's recorded outputs, dvc.lock's YAML) on a small real repository. A DVC upgrade
that changes one of them fails here, naming it, before `make repro` misreads it."""

from __future__ import annotations

import hashlib
import json

import pytest

from pipeline.run import dvc as adapter
from pipeline.run.progress import statuses
from tests.conftest import commit_dvc_repo

pytestmark = pytest.mark.slow  # the real dvc CLI, a dozen calls

DVC_YAML = """stages:
  make:
    foreach: ${items}
    do:
      cmd: python write.py ${item}.txt ${item}
      outs: ["${item}.txt"]
  join:
    cmd: python join.py
    deps: [join.py, a.txt, b.txt]
    outs: [joined.txt]
  fails:
    cmd: python -c "raise SystemExit(3)"
    deps: [joined.txt]
"""
SCRIPTS = {
    "write.py": "import pathlib, sys\npathlib.Path(sys.argv[1]).write_text(sys.argv[2])\n",
    "join.py": "import pathlib\npathlib.Path('joined.txt').write_text(open('a.txt').read() + open('b.txt').read())\n",
}


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    (tmp_path / "params.yaml").write_text("items: [a, b]\n")
    for name, text in SCRIPTS.items():
        (tmp_path / name).write_text(text)
    return commit_dvc_repo(tmp_path)


def test_each_piece_of_dvc_the_scheduler_reads(repo):
    dvc = adapter.Dvc(repo)
    # `dvc dag --dot`: every stage and edge
    assert adapter.parse_dot(dvc.query("dag", "--dot")) == {
        "make@a": set(),
        "make@b": set(),
        "join": {"make@a", "make@b"},
        "fails": {"join"},
    }
    # `dvc status --json`: every stage is new
    assert set(json.loads(dvc.query("status", "--json"))) == {"make@a", "make@b", "join", "fails"}
    # DVC's resolver: the foreach names, as `dvc repro` resolves them with these params
    found: list[str] = []
    assert list(adapter.resolve_stages({"items": ["a", "b"]}, repo / "dvc.yaml", found)) == [
        "make@a",
        "make@b",
        "join",
        "fails",
    ]
    assert found == []
    adapter.resolve_stages({}, repo / "dvc.yaml", found)  # a param dvc.yaml needs is missing
    assert found and "items: missing, and dvc.yaml uses ${items}" in found[0], found

    # `dvc repro`'s words for a stage that ran, one that did not change, and one from the run-cache
    ran = dvc.query("repro", "join")
    assert statuses(ran) == {"make@a": adapter.RAN, "make@b": adapter.RAN, "join": adapter.RAN}, ran
    again = dvc.query("repro", "--single-item", "join")
    assert statuses(again) == {"join": adapter.UP_TO_DATE}, again
    script = (repo / "join.py").read_text()
    (repo / "join.py").write_text(script + "# an edit\n")
    assert statuses(dvc.query("repro", "--single-item", "join")) == {"join": adapter.RAN}
    (repo / "join.py").write_text(script)  # back to a run DVC has seen: from the run-cache
    restored = dvc.query("repro", "--single-item", "join")
    assert statuses(restored) == {"join": adapter.RESTORED}, restored

    # a stage's recorded outputs: path, cached, MD5
    [(path, cached, md5)] = adapter.stage_outs(repo, "join")
    assert path == repo / "joined.txt" and cached
    assert md5 == hashlib.md5(path.read_bytes()).hexdigest()

    # dvc.lock as DVC reads it for an update, and writes it back: the same text
    text = (repo / "dvc.lock").read_text()
    assert adapter.dump_lock(adapter.read_lock_for_update(text, "dvc.lock")) == text

    # the exit status of a failed stage, read from the line DVC prints for it
    seen: list[tuple[str, str]] = []
    runner = adapter.Dvc(repo, lambda name, line: seen.append((name, line)))
    proc = runner.stage("fails", [], threads=1, log=repo / "fails.log")
    assert proc.wait() != 0
    runner.finish("fails")
    assert runner.exits == {"fails": 3}, (repo / "fails.log").read_text()
    assert any(line == "Running stage 'fails':" for _, line in seen)
