"""Everything the pipeline's `make repro` tooling reads from DVC, in one place: the command line
(`dvc status --json`, `dvc dag --dot`, `dvc repro --single-item`), the words `dvc repro` prints for
each stage, and the few internal APIs with no command behind them (DVC's own resolver of dvc.yaml,
a stage's recorded outputs, dvc.lock's YAML writer). A DVC upgrade that changes any of these breaks
this module alone; tests/test_dvc_adapter.py runs each piece against the installed DVC."""

from __future__ import annotations

import ctypes
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Callable

import yaml

from pipeline.core.errors import SchedulerError

# What a stage did, in the scheduler's words
RAN, RESTORED, UP_TO_DATE, FAILED = "ran", "restored from the run-cache", "up to date", "failed"
# What DVC 3 says it does with a stage (dvc/stage/run.py, dvc/stage/cache.py, dvc/stage/__init__.py)
DVC_SAYS = (
    (re.compile(r"Running stage '(?P<name>.+)':$"), RAN),
    (re.compile(r"Stage '(?P<name>.+)' is cached - skipping run, checking out outputs$"), RESTORED),
    (re.compile(r"Stage '(?P<name>.+)' didn't change, skipping$"), UP_TO_DATE),
)
_EXITED = re.compile(r"exited with (-?\d+)\s*$")
_EDGE = re.compile(r'^"(?P<src>[^"]+)"\s*->\s*"(?P<dst>[^"]+)";?$')
_NODE = re.compile(r'^"(?P<name>[^"]+)";?$')


def parse_dot(text: str) -> dict[str, set[str]]:
    """`dvc dag --dot` -> {stage: the stages it directly depends on}."""
    upstream: dict[str, set[str]] = {}
    for line in (raw.strip() for raw in text.splitlines()):
        if edge := _EDGE.match(line):
            upstream.setdefault(edge["src"], set())
            upstream.setdefault(edge["dst"], set()).add(edge["src"])
        elif node := _NODE.match(line):
            upstream.setdefault(node["name"], set())
    return upstream


class Dvc:
    """The DVC command line, with this interpreter's folder first on PATH so that the stages'
    `python` is the project's own (as `make` arranges). `dvc` is the one beside this interpreter
    (.venv/bin), else the first on PATH. `seen(stage, line)` gets each line a stage prints, once
    it is in the stage's log."""

    def __init__(self, repo: Path, seen: Callable[[str, str], None] = lambda name, text: None) -> None:
        self.repo = repo
        self.env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        exe = shutil.which("dvc", path=self.env["PATH"])
        if exe is None:
            raise SchedulerError(f"no `dvc` beside {sys.executable} or on PATH: run `make setup` (or install dvc)")
        self.exe = exe
        self.seen = seen
        self._relays: dict[str, threading.Thread] = {}
        self.exits: dict[str, int] = {}  # stage -> its command's exit status, as DVC reported it

    def query(self, *args: str) -> str:
        """`dvc <args>`'s standard output; a SchedulerError with its stderr if it fails."""
        proc = subprocess.run([self.exe, *args], cwd=self.repo, env=self.env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SchedulerError(f"`dvc {' '.join(args)}` failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
        return proc.stdout

    def stage(self, name: str, extra: list[str], threads: int, log: Path) -> subprocess.Popen:
        """Start `dvc repro --single-item <name>`, its output (DVC's and the stage's) written to `log`."""
        env = dict(self.env)
        # Stages that are not single-threaded (runtime.deterministic: off) share the cores.
        env.setdefault("OMP_NUM_THREADS", str(threads))
        env["PIPELINE_SCHEDULED"] = "1"  # the stage may take its process group's end for DVC's (cli.run)
        # Its own process group, so that an interrupt reaches it through `stop` alone, once.
        proc = subprocess.Popen(
            [self.exe, "--wait-for-lock", "repro", "--single-item", *extra, name],
            cwd=self.repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with(os.getpid()),
        )
        relay = threading.Thread(target=self._relay, args=(name, proc.stdout, log), daemon=True)
        relay.start()
        self._relays[name] = relay
        return proc

    def finish(self, name: str, timeout: float = 10.0) -> None:
        """Wait until a stage's last lines are in its log (and seen), before its end is reported."""
        if relay := self._relays.get(name):
            relay.join(timeout)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every started stage's last lines are in its log (`timeout` seconds each at most)."""
        for name in list(self._relays):
            self.finish(name, timeout)

    def _relay(self, name: str, pipe: IO[bytes], log: Path) -> None:
        # Split at \n only: a progress bar's \r redraws stay in one line, of which the last is kept.
        lines = io.TextIOWrapper(pipe, encoding="utf-8", errors="replace", newline="\n")
        with open(log, "w", encoding="utf-8") as fh:  # this run's output: the last run's goes
            for line in lines:
                text = line.rstrip("\n").rstrip("\r").rsplit("\r", 1)[-1]
                if found := _EXITED.search(text):
                    self.exits[name] = int(found[1])
                fh.write(text + "\n")
                fh.flush()  # `tail -f logs/<stage>.log` follows a stage as it runs
                if text.strip():
                    self.seen(name, text)


def die_with(parent: int) -> Callable[[], None] | None:
    """A Popen `preexec_fn` under which the child gets SIGTERM when `parent` (this process) dies,
    even by `kill -9` (Linux; elsewhere None). The stage DVC starts sets the same (cli.run)."""
    if sys.platform != "linux":
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the forked child only calls it

    def preexec() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before that: do not start
            os._exit(1)
        # `stop` ends a stage with SIGINT: it must arrive even when this scheduler runs as a background
        # job (SIGINT ignored, which a child would inherit) or under a runner that blocks it.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})

    return preexec


class _Repo:
    """What DVC's resolver needs of a repository: a file system and the `parsing` config."""

    def __init__(self) -> None:
        from dvc.fs import LocalFileSystem

        self.fs, self.config = LocalFileSystem(), {}


def _where(stage: str, field: str) -> str:
    return f"stages.{stage}.{field}"  # DVC's own address of it


def resolve_stages(raw: dict, dvc_yaml: Path, found: list[str]) -> dict[str, dict]:
    """dvc.yaml's stages, resolved by DVC's own resolver against `raw` (what `dvc repro` would
    see); each `${...}` that `raw` cannot fill is a problem naming the key. Returns the stages
    that resolved, by name (train@mlp...)."""
    from dvc.parsing import DataResolver, ForeachDefinition, MatrixDefinition

    try:
        stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    except (OSError, yaml.YAMLError, TypeError, KeyError) as err:
        found.append(
            f"dvc.yaml: not a readable pipeline ({type(err).__name__}: {err}); restore it (git checkout dvc.yaml)"
        )
        return {}
    lacking: dict[str, list[str]] = {}  # a missing key -> where dvc.yaml uses it

    def failed(err: Exception, each: str | None) -> None:
        where = re.search(r"failed to parse '(?:stages\.)?([^']+?)\.(\w+)'", str(err))
        stage, field = where.groups() if where else ("?", "?")
        missing = re.search(r"Could not find '([^']+)'", str(err))
        if missing is None:  # not a missing key: DVC's own words, less the temporary folder's path
            found.append(
                f"dvc.yaml: {_where(stage, field)}: {re.sub(r' in .[^ ]*dvc.yaml.', '', str(err))} (with these params)"
            )
            return
        key = missing.group(1)
        if each and key == "key":  # a foreach over a list has items but no keys
            found.append(
                f"{each}: must be a mapping of names to settings; dvc.yaml runs a stage per name (${{key}} in "
                f"stages.{stage.partition('@')[0]})"
            )
            return
        if each and key.startswith("item."):  # foreach over a section: item is its entry
            key = f"{each}.{stage.partition('@')[2]}.{key.removeprefix('item.')}"
        lacking.setdefault(key, []).append(_where(stage, field))

    resolved: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:  # DVC reads params.yaml beside dvc.yaml: this one is `raw`
        (Path(tmp) / "params.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))
        try:
            resolver = DataResolver(_Repo(), tmp, {"stages": stages})
        except Exception as err:  # noqa: BLE001 - DVC refuses dvc.yaml itself: its words, one line
            found.append(f"dvc.yaml: {re.sub(r' in .[^ ]*dvc.yaml.', '', str(err))}")
            return {}
        for name, definition in resolver.definitions.items():
            foreach = stages[name].get("foreach") if isinstance(stages[name], dict) else None
            each = foreach[2:-1] if isinstance(foreach, str) and foreach.startswith("${") else None
            try:
                names = (
                    definition.get_generated_names()
                    if isinstance(definition, (ForeachDefinition, MatrixDefinition))
                    else [name]
                )
            except Exception as err:  # noqa: BLE001 - DVC's ResolveError and what it wraps: reported
                failed(err, each)
                continue
            for stage in names:
                try:
                    resolved |= resolver.resolve_one(stage)
                except Exception as err:  # noqa: BLE001
                    failed(err, each)
    for key, where in lacking.items():
        places = list(dict.fromkeys(where))
        named = ", ".join(places[:3]) + (f" and {len(places) - 3} more" if len(places) > 3 else "")
        found.append(
            f"{key}: missing, and dvc.yaml uses ${{{key}}} (in {named}); add it back, or remove those "
            "uses from dvc.yaml"
        )
    return resolved


def stage_outs(repo: Path, name: str) -> list[tuple[Path, bool, str | None]]:
    """A stage's outputs as dvc.lock records them: (path, cached, MD5 or None)."""
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc_repo:
        return [
            (Path(out.fs_path), out.use_cache, out.hash_info.value if out.hash_info else None)
            for out in dvc_repo.stage.collect(f"{repo / 'dvc.yaml'}:{name}")[0].outs
        ]


def read_lock_for_update(text: str, path: str):
    """dvc.lock's text parsed as DVC does when it rewrites the file (comments and order kept)."""
    from dvc.utils.serialize import parse_yaml_for_update

    return parse_yaml_for_update(text, path)


def dump_lock(data) -> str:
    """dvc.lock's text as DVC writes it."""
    from dvc.utils.serialize import dumps_yaml

    return dumps_yaml(data)
