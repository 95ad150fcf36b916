"""The docs are tested: every shell command that README.md and docs/*.md show either runs here,
exactly as the page writes it, in a copy of the shrunk project the session built (its outputs
checked out of the session's cache), or is listed in SKIP with the reason it cannot run on this
machine. A new command is run unless someone adds it to SKIP on purpose. Where a page quotes what a
command prints (a plain block right after the command's block), the output must say it.

The pages' code blocks are read with markdown-it-py (already installed: it is how rich, and so
DVC, reads Markdown), not a parser of our own."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from markdown_it import MarkdownIt

from tests.conftest import ROOT, Project, clone_project, tool_env
from tests.helpers.dvc import stale

PAGES = ("README.md", *(f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md"))))
SHELL = {"sh", "bash", "shell", "console"}

_NETWORK = (
    "downloads a full-size dataset from the internet (none here; tests/test_fetch.py serves the real formats locally)"
)
_MAKE = (
    "`make` sets up .venv in the folder it runs in; the suite runs what it runs after set-up: "
    "`python -m pipeline.run.parallel` (fixture `reproduced`; with --pull, test_team), pytest itself, pipeline.run.remote (test_process_faults)"
)
_HOSTS = "a remote on a host or bucket that does not exist here (tests/test_team.py uses a real S3 server on 127.0.0.1)"
_GPU = "on a GPU machine, with its own Python (docs/gpu.md); no GPU here, and tests/test_offline_kit.py runs the kit"
# Exactly as the pages write them (trailing comments dropped) -> why the test does not run them.
SKIP = {
    "make repro": _MAKE,
    "make test": _MAKE,
    "make repro JOBS=1": _MAKE,
    "make push": _MAKE,
    "make repro PULL=1": _MAKE,
    "make repro && make push": _MAKE,
    "dvc exp run -S train.mlp.dataset=mnist": _NETWORK,
    "dvc exp run -S train.cnn.dataset=cifar10": _NETWORK,
    "dvc exp run -S charrnn.charrnn.corpus=anna": _NETWORK,
    "dvc exp run -S sentiment.sentiment.dataset=imdb": _NETWORK,
    "dvc exp run -S train.fashion_mlp.dataset=fashion_mnist": _NETWORK,
    "dvc exp run -S charrnn.charrnn.corpus=anna -S charrnn.charrnn.hidden=512 -S 'sample.charrnn.prime=Anna'": _NETWORK,
    "dvc exp run -S tabular.logreg.dataset=admissions -S tabular.perceptron.dataset=points": _NETWORK,
    "dvc exp run -S style.style.images=style_images -S style.style.content=octopus.jpg -S style.style.style=hockney.jpg": _NETWORK,
    "dvc remote add -d team /mnt/shared/course-pipeline": _HOSTS,
    "dvc remote add -d team s3://my-bucket/course-pipeline": _HOSTS,
    "dvc remote modify --local team endpointurl https://minio.example.com": _HOSTS,
    "dvc remote add -d team ssh://me@build-box/srv/course-pipeline": _HOSTS,
    "git push": "pushes to the team's git server; the copy's origin is the session's own project",
    "git clone ... && cd ... && make setup && source .venv/bin/activate": "placeholders for the team's repository",
    "dvc exp push origin <exp>  /  dvc exp pull origin <exp>": "placeholders, and no git server here",
    "python3 -m pip freeze > have.txt": _GPU,
    ".venv/bin/python bench/wheelhouse.py --have have.txt --python 3.12": _GPU,
    "PYTHON=python3 bench/offline_gpu.sh --out gpu-results.json": _GPU,
    "mkdir -p datasets/novel && cp ~/books/*.txt datasets/novel/": "your own books (tests/test_own_data.py trains on anna.txt)",
    "mkdir -p datasets/mine && cp ~/photos/cat.jpg ~/photos/starry_night.jpg datasets/mine/": (
        "your own photos (tests/test_own_data.py uses the course's)"
    ),
    "python vendor/vega/fetch.py": "downloads the npm tarballs again (`--check` runs offline below)",
    "python vendor/vega/fetch.py --pin vega@5.21.0 vega-lite@5.6.0 vega-embed@6.21.0": "downloads other versions",
    "python -m pipeline.run.parallel --jobs 4 --force": (
        "retrains all 59 stages (minutes); the same scheduler without --force builds the session's project"
    ),
    "cmake -S cpp -B build/cmake -DCMAKE_PREFIX_PATH=\"$(.venv/bin/python -c 'import torch; "
    "print(torch.utils.cmake_prefix_path)')\"": "compiles the C++ program again; build_cpp compiles the same CMake project once per session",
    "cmake --build build/cmake": "see the cmake configure line",
    "dvc exp run -S train.cnn.lr=0.02": "retrains cnn and the transfer model on it (a minute); the README's `dvc exp run -S train.mlp.lr=0.03` runs",
    "dvc exp run --queue -S train.mlp.lr=0.03": "tests/test_team.py::test_experiments_run_and_queue queues and runs a sweep of two (0.02, 0.05)",
    "dvc exp run --queue -S train.mlp.lr=0.05": "see the line above",
    "dvc exp run --run-all -j 2": "see the line above",
}


@dataclass(frozen=True)
class Command:
    page: str
    line: int  # where its block starts
    text: str
    quote: str | None  # what the page shows the block printing (for the block's last command)

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.text}"


def _complete(text: str) -> bool:
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text)
    except ValueError:  # a quote still open: a python -c "..." over several lines
        return False
    return True


def split_commands(block: str) -> list[str]:
    """The commands of a shell block, as written: continuation lines and multi-line quotes joined,
    comment lines and trailing `  # comments` dropped."""
    out, buffer = [], ""
    for line in block.splitlines():
        if not buffer and (not line.strip() or line.lstrip().startswith("#")):
            continue
        line = re.sub(r"\s+#\s.*$", "", line).rstrip()  # a trailing comment
        buffer = f"{buffer}\n{line}" if buffer else line
        if _complete(buffer):
            out.append(buffer)
            buffer = ""
    assert not buffer, f"an unfinished command: {buffer!r}"
    return out


def page_commands(page: str) -> list[Command]:
    tokens = [t for t in MarkdownIt().parse((ROOT / page).read_text()) if t.type == "fence"]
    found = []
    for i, tok in enumerate(tokens):
        if tok.info.strip() not in SHELL:
            continue
        texts = split_commands(tok.content)
        after = tokens[i + 1] if i + 1 < len(tokens) else None
        quote = after.content if after and not after.info.strip() and after.map[0] - tok.map[1] <= 1 else None
        found += [Command(page, tok.map[0] + 1, t, quote if j == len(texts) - 1 else None) for j, t in enumerate(texts)]
    return found


ALL = [c for page in PAGES for c in page_commands(page)]
RUN = [c for c in ALL if c.text not in SKIP]


def test_every_command_is_run_or_skipped_for_a_reason():
    assert len(ALL) >= 80 and len(RUN) >= 40, (len(ALL), len(RUN))
    stale_skips = set(SKIP) - {c.text for c in ALL}
    assert not stale_skips, f"SKIP names commands no page shows any more: {sorted(stale_skips)}"
    print(f"\n{len(RUN)} commands run, {len(ALL) - len(RUN)} skipped:")
    for c in ALL:
        print(f"  {'skip' if c.text in SKIP else 'run '}  {c}" + (f"  ({SKIP[c.text]})" if c.text in SKIP else ""))


@pytest.fixture(scope="module")
def docs_copy(reproduced, mlp_experiment, tmp_path_factory, dvc_cache) -> Project:
    """The reproduced project as a reader has it: .venv beside it (a link to this one: `source
    .venv/bin/activate` and `.venv/bin/...` work as written), branches named as the pages name them.
    On the session's cache after `mlp_experiment` trained mlp at the README's learning rate: the
    README's `dvc exp run -S train.mlp.lr=0.03` restores that run, as a teammate's would."""
    copy = clone_project(reproduced[0], tmp_path_factory.mktemp("docs") / "project", dvc_cache)
    (copy.path / ".venv").symlink_to(ROOT / ".venv")
    for branch in ("main", "my-branch"):
        copy.git("branch", "-f", branch)
    return copy


def shell(copy: Project, command: str) -> subprocess.CompletedProcess:
    """`command` in bash, in the copy, in a shell where .venv is active (as the README asks)."""
    venv = Path(sys.executable).parent
    env = tool_env() | {
        "PATH": f"{venv}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(venv.parent),
        # build/course_model finds LibTorch by a path relative to itself, right in a
        # project with its .venv inside; the session's copy was compiled in another
        # folder (and restored from the run-cache here), so it is told where torch is.
        "LD_LIBRARY_PATH": str(Path(torch.__file__).resolve().parent / "lib"),
    }
    return subprocess.run(["bash", "-c", command], cwd=copy.path, env=env, capture_output=True, text=True, timeout=600)


def quoted(quote: str, output: str) -> list[str]:
    """The quoted lines the output lacks; `<...>` and `...` in a quote stand for anything."""

    def pattern(line: str) -> str:
        parts = re.split(r"<[^>]+>|\.\.\.", line)
        return ".+?".join(map(re.escape, parts))

    return [q for q in quote.splitlines() if q.strip() and not re.search(pattern(q), output)]


@pytest.mark.slow
@pytest.mark.parametrize("page", sorted({c.page for c in RUN}))
def test_the_commands_of_a_page_run_as_written(page, docs_copy):
    for command in (c for c in RUN if c.page == page):
        proc = shell(docs_copy, command.text)
        said = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{command}\nexit {proc.returncode}:\n{said[-3000:]}"
        assert "Traceback" not in said, f"{command}\n{said[-3000:]}"
        if command.quote:
            assert not quoted(command.quote, said), f"{command}: the page quotes {command.quote!r}, it printed {said!r}"
    # An experiment run in the workspace leaves its params and outputs there: back to the commit.
    docs_copy.git("checkout", "-q", "--", ".")
    docs_copy.dvc("checkout", "--force", "--quiet")
    assert stale(docs_copy) == set(), page


def inline(page: str, pattern: str) -> str:
    """The inline code a page's sentence quotes (`pattern` holds one group), spaces made single."""
    found = re.search(pattern, re.sub(r"\s+", " ", (ROOT / page).read_text()))
    assert found, f"{page} no longer says {pattern!r}"
    return found.group(1)


@pytest.mark.slow
def test_the_faults_page_brings_the_outputs_back_after_a_failed_dvc_repro(reproduced, tmp_path, dvc_cache):
    """docs/faults.md: after plain `dvc repro` fails on a damaged file, its command restores the
    cached outputs, the damaged one included (plain `dvc checkout` refused and restored nothing)."""
    copy = clone_project(reproduced[0], tmp_path / "copy", dvc_cache)
    split = copy.path / "data/processed/digits/train.pt"
    good = split.read_bytes()
    data = bytearray(good)
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    split.chmod(0o644)
    split.write_bytes(bytes(data))
    failed = copy.dvc("repro", "-s", "train@mlp", check=False)
    assert failed.returncode != 0 and "corrupt (CRC mismatch" in failed.stdout + failed.stderr
    assert not (copy.path / "models/mlp/model.pt").exists()  # DVC removed the stage's outputs first
    command = inline("docs/faults.md", r"`(dvc checkout[^`]*)` brings the cached ones back")
    assert shell(copy, command).returncode == 0
    assert stale(copy) == set() and split.read_bytes() == good and (copy.path / "models/mlp/model.pt").is_file()


@pytest.mark.slow
def test_the_predict_page_says_when_a_review_has_unknown_words(docs_copy):
    """docs/predict.md: the line counts unknown words when there are some, and only then."""
    quote = inline("docs/predict.md", r"when a review has some, its line says how many \(`([^`]+)`\)")
    some = shell(docs_copy, 'predict exports/sentiment --text "zqxv wubble: the cast was superb"')
    assert some.returncode == 0 and not quoted(quote, some.stdout), (quote, some.stdout)
    none = shell(
        docs_copy, "predict exports/sentiment --text 'Honestly the cast was superb and the ending was moving.'"
    )
    assert none.returncode == 0 and "unknown" not in none.stdout, none.stdout
