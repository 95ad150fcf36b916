"""The fault matrix: every bad input and fault a user meets, tried on a real project (`make faults`,
or `python bench/faults.py [--only WORD ...] [--list]`).

A copy of this repository with the tests' shrunk params is reproduced (and committed) in a scratch
folder. Then, per case, the fault is applied, the user's command run, and checked: the **exit** and
the **first line** of the message (a traceback is a defect); the stage's **outputs** afterwards (as
dvc.lock records them, or missing until the next run but in DVC's cache or git, or **lost**); that no
file **outside** the stage's outputs changed; that dvc.lock and the run-cache **recorded** nothing;
and that, the fault undone, a plain `make repro` gives every file the **same bytes** as before.
Then the input-format cases (bench/faults_inputs.py) and the params.yaml fuzzing
(bench/params_fuzz.py) add their counts. Figures of the last run: bench/README.md, "Faults".
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.faults_make import (  # noqa: E402
    delete,
    disk_full,
    file_edit,
    no_fault,
    no_run_cache,
    params_edit,
    set_key,
    typo_label_map,
    uncached,
    zero_middle,
)
from pipeline.core.params import read_yaml  # noqa: E402
from pipeline.run.progress import LOGS  # noqa: E402  (what make repro writes each time: not a result)
from tests.helpers.project import Project, make_project, shrink, tool_env  # noqa: E402

SKIP = {".git", ".dvc/cache", ".dvc/tmp", ".dvc/config.local", "__pycache__", ".hypothesis", LOGS.as_posix()}


@dataclass
class Result:
    case: str
    exit: int | None
    first: str
    traceback: bool
    outside: list[str] = field(default_factory=list)  # changed files that are not the stage's outputs
    missing: list[str] = field(default_factory=list)  # outputs not in the workspace as recorded, recoverable
    lost: list[str] = field(default_factory=list)  # outputs gone and in neither DVC's cache nor git
    recorded: bool = False  # dvc.lock or the run-cache took something
    rerun: bool | None = None  # same bytes after a plain rerun


def snapshot(root: Path) -> dict[str, str]:
    """{relative path: md5} of every file in the workspace (not git's, DVC's cache or tmp)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not any(rel == s or rel.startswith(s + "/") or f"/{s}/" in f"/{rel}" for s in SKIP):
            out[rel] = hashlib.md5(path.read_bytes()).hexdigest()
    return out


def run_cache(root: Path) -> set[str]:
    runs = root / ".dvc" / "cache" / "runs"
    return {p.relative_to(runs).as_posix() for p in runs.rglob("*") if p.is_file()} if runs.exists() else set()


def first_error(text: str) -> str:
    """The line a user reads first: the scheduler's or a stage's own (`error:`, `ERROR pipeline:`),
    else DVC's first error line, else the scheduler's totals, else the last line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for marks in (("error:", "killed:", "interrupted:"), ("ERROR pipeline:",), ("ERROR",), (" stages checked in ",)):
        if (at := next((i for i, ln in enumerate(lines) if any(m in ln for m in marks)), None)) is not None:
            hit = lines[at] + (f" {lines[at + 1]}" if lines[at].endswith(":") and at + 1 < len(lines) else "")
            return hit[:170]
    return lines[-1][:170] if lines else ""


def recoverable(proj: Project, rel: str, md5: str) -> bool:
    """Whether a file's bytes can still be had: from DVC's cache, or from git HEAD."""
    if (proj.path / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).exists():
        return True
    old = subprocess.run(["git", "show", f"HEAD:{rel}"], cwd=proj.path, capture_output=True)
    return old.returncode == 0 and hashlib.md5(old.stdout).hexdigest() == md5


def stage_outputs(proj: Project, stage: str | None) -> set[str]:
    stages = read_yaml(proj.path / "dvc.lock")["stages"]
    return {o["path"] for o in stages.get(stage, {}).get("outs", [])} if stage else set()


# --- the commands a user runs -------------------------------------------------------------


def cmd(proj: Project, args: list[str], timeout: float = 900, **kw) -> tuple[int, str]:
    proc = subprocess.run(args, cwd=proj.path, env=tool_env(), capture_output=True, text=True, timeout=timeout, **kw)
    return proc.returncode, proc.stdout + proc.stderr


def check(proj: Project) -> tuple[int, str]:
    return cmd(proj, [sys.executable, "-m", "pipeline.run.check", "params.yaml"])


SCHEDULER = [sys.executable, "-m", "pipeline.run.parallel", "--jobs", "2"]  # what `make repro` runs after its check


def repro(proj: Project) -> tuple[int, str]:
    """`make repro`: params.yaml checked, then the scheduler."""
    code, out = check(proj)
    return (code, out) if code != 0 else cmd(proj, SCHEDULER)


def dvc_single(stage: str) -> Callable[[Project], tuple[int, str]]:
    """`dvc repro -f -s <stage>`, as the issue's table runs it (DVC alone, not make repro)."""
    return lambda proj: cmd(proj, [str(Path(sys.executable).parent / "dvc"), "repro", "-f", "-s", stage])


def _pids(pattern: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if pattern in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    found.append(int(entry.name))
    return found


def _default_sigint() -> None:
    """A scheduler started from a background job would inherit SIGINT ignored: Ctrl-C as a terminal sends it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def killed(pattern: str, sig: int, after: float, target: str = "stage") -> Callable[[Project], tuple[int, str]]:
    """`make repro` with a signal sent `after` seconds into the process matching `pattern` (a stage's
    command line), or to the scheduler itself (target="scheduler")."""

    def go(proj: Project) -> tuple[int, str]:
        proc = subprocess.Popen(
            SCHEDULER,
            cwd=proj.path,
            env=tool_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_default_sigint,
        )
        deadline = time.monotonic() + 300
        while not (pids := [p for p in _pids(pattern) if p != proc.pid]) and proc.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        time.sleep(after)
        for pid in [proc.pid] if target == "scheduler" else pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        out = proc.communicate(timeout=600)[0]
        if target == "scheduler":
            waited = time.monotonic()
            while (orphans := _pids(pattern)) and time.monotonic() - waited < 10:
                time.sleep(0.1)
            note = (
                f"stages still running 10 s after the scheduler's {signal.Signals(sig).name}: {len(orphans)}"
                if orphans
                else f"its stages ended {time.monotonic() - waited:.1f} s after it"
            )
            out = f"killed: {note}\n{out}" if sig == signal.SIGKILL else f"{out}\n{note}\n"
            for pid in orphans:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        return proc.returncode, out

    return go


def twice(proj: Project) -> tuple[int, str]:
    """Two `make repro` at once: the second's exit and message."""
    first = subprocess.Popen(
        SCHEDULER, cwd=proj.path, env=tool_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(2)
    code, out = repro(proj)
    first.wait(timeout=600)
    return code, out


def remote(action: str, url: str) -> Callable[[Project], tuple[int, str]]:
    def go(proj: Project) -> tuple[int, str]:
        config = (proj.path / ".dvc" / "config").read_bytes()
        proj.dvc("remote", "add", "--local", "-f", "-d", "faults", url)
        try:
            return cmd(proj, [sys.executable, "-m", "pipeline.run.remote", action])
        finally:
            (proj.path / ".dvc" / "config").write_bytes(config)
            (proj.path / ".dvc" / "config.local").unlink(missing_ok=True)

    return go


@dataclass
class Case:
    fault: Callable[[Project], Callable[[], None]]
    run: Callable[[Project], tuple[int, str]]
    stage: str | None = None  # whose outputs may change
    legit: bool = False  # another run's own results change the workspace (two make repro at once)


CASES: dict[str, Case] = {
    "params: label_map value typo": Case(params_edit(typo_label_map), check),
    "params: prime char not in corpus": Case(
        params_edit(set_key("sample", "charrnn", "prime", value="Über ")), repro, "evaluate_charrnn@charrnn"
    ),
    "params: seed -1": Case(params_edit(set_key("train", "mlp", "seed", value=-1)), check),
    "params: hidden 1e9": Case(params_edit(set_key("train", "mlp", "hidden", value=[1000000000, 512])), check),
    "params: model entry removed": Case(params_edit(delete("train", "mlp")), check),
    "params: val_fraction 0.001": Case(
        params_edit(set_key("normalize", "digits", "val_fraction", value=0.001)), repro, "normalize@digits"
    ),
    "params: bad style.content_layer": Case(
        params_edit(set_key("style", "style", "content_layer", value="conv9_9")), check
    ),
    "data: zeroed bytes in train.pt": Case(
        file_edit("data/processed/digits/train.pt", zero_middle), dvc_single("train@mlp"), "train@mlp"
    ),
    "data: garbled model.pt": Case(
        file_edit("models/mlp/model.pt", zero_middle), dvc_single("evaluate@mlp"), "evaluate@mlp"
    ),
    "data: truncated raw .gz": Case(
        file_edit("data/raw/digits/digits.csv.gz", lambda b: b[: len(b) // 2]),
        dvc_single("normalize@digits"),
        "normalize@digits",
    ),
    "disk full (ENOSPC) in normalize": Case(
        disk_full("data/processed/digits/train.pt"), dvc_single("normalize@digits"), "normalize@digits"
    ),
    "kill -9 of a stage (training)": Case(
        params_edit(set_key("train", "mlp", "epochs", value=3)),
        killed("stages.train mlp", signal.SIGKILL, 1.5),
        "train@mlp",
    ),
    "kill -9 of a stage (export)": Case(
        no_run_cache("exports/mlp/model.onnx"), killed("stages.export mlp", signal.SIGKILL, 0.8), "export@mlp"
    ),
    "kill -9 of the scheduler": Case(
        params_edit(set_key("train", "mlp", "epochs", value=3)),
        killed("stages.train mlp", signal.SIGKILL, 1.0, "scheduler"),
        "train@mlp",
    ),
    "Ctrl-C of make repro": Case(
        params_edit(set_key("train", "mlp", "epochs", value=3)),
        killed("stages.train mlp", signal.SIGINT, 1.0, "scheduler"),
        "train@mlp",
    ),
    "two make repro at once": Case(
        params_edit(set_key("train", "mlp", "epochs", value=3)), twice, "train@mlp", legit=True
    ),
    "push to an unwritable remote": Case(no_fault, remote("push", "/etc/hostname/remote")),
    "pull from an unreachable remote": Case(
        uncached("models/mlp/model.pt"), remote("pull", "http://127.0.0.1:9/remote"), "train@mlp"
    ),
}


def try_case(proj: Project, name: str, case: Case) -> Result:
    lock, runs, before = (proj.path / "dvc.lock").read_bytes(), run_cache(proj.path), snapshot(proj.path)
    own = stage_outputs(proj, case.stage)
    undo = case.fault(proj)
    faulted = snapshot(proj.path)
    code, out = case.run(proj)
    after = snapshot(proj.path)
    res = Result(name, code, first_error(out), "Traceback (most recent call last)" in out)
    if res.traceback:
        at = out.index("Traceback (most recent call last)")
        print(f"{name}: a traceback:\n{out[max(0, at - 300) : at + 2500]}", file=sys.stderr)
    mine = [k for k in set(before) | set(after) if any(k == o or k.startswith(o + "/") for o in own)]
    if case.legit:  # the first run's own results are no harm; what the second did is
        res.first += " (the first run went on and recorded its results)"
    else:
        changed = {k for k in set(faulted) | set(after) if faulted.get(k) != after.get(k)}
        res.outside = sorted(k for k in changed if k not in mine)
        res.recorded = (proj.path / "dvc.lock").read_bytes() != lock or run_cache(proj.path) != runs
        gone = [k for k in mine if k in faulted and after.get(k) != faulted[k]]  # by the command, not the fault
        res.lost = [k for k in gone if not recoverable(proj, k, faulted[k])]
        res.missing = [k for k in gone if k not in res.lost]
    undo()
    code2, out2 = repro(proj)
    now = snapshot(proj.path)
    res.rerun = code2 == 0 and now == before
    if not res.rerun:
        diff = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        res.first += f" [rerun exit {code2}; differs: {', '.join(diff[:4])}]"
    return res


def table(results: list[Result]) -> str:
    rows = [
        "| case | exit | first line of the message | traceback | stage's outputs afterwards | outside changed "
        "| lost | wrong result recorded | rerun: same bytes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        outputs = f"{len(r.missing)} missing until the next run (in the cache or git)" if r.missing else "as recorded"
        rows.append(
            f"| {r.case} | {r.exit} | {r.first.replace('|', '/')} | {'YES' if r.traceback else 'no'} | "
            f"{outputs} | {', '.join(r.outside) or 'none'} | {', '.join(r.lost) or 'none'} | "
            f"{'YES' if r.recorded else 'no'} | {'yes' if r.rerun else 'NO'} |"
        )
    return "\n".join(rows)


def inputs_and_params(examples: int) -> tuple[list[str], bool]:
    """The input-format cases (bench/faults_inputs.py) as a table, and the params.yaml fuzzing counts."""
    from bench import faults_inputs, params_fuzz

    with tempfile.TemporaryDirectory(prefix="inputs-") as tmp:
        rows = faults_inputs.run_cases(tmp)
    print("\n| input file | format | error | first line of the message |\n|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['case']} | {r['format']} | {r['error'] or 'NONE: read as if good'} | "
            f"{r['message'][:140].replace('|', '/')} |"
        )
    fuzz, resolved = params_fuzz.run(examples), params_fuzz.run(max(1, examples // 10), dvc=True)
    ok = all(r["clear"] for r in rows) and fuzz.unclear + fuzz.crashes + resolved.unclear + resolved.crashes == 0
    return [
        f"input files: {len(rows)}; clear errors: {sum(r['clear'] for r in rows)}; tracebacks: "
        f"{sum(r['traceback'] for r in rows)}; read as if good: {sum(r['error'] is None for r in rows)}",
        *(
            f"params.yaml fuzzing (hypothesis{how}): {f.cases} cases; valid {f.valid}, clear errors {f.clear}, "
            f"unclear {f.unclear}, crashes {f.crashes}"
            for how, f in (("", fuzz), (", dvc.yaml resolved", resolved))
        ),
    ], ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", help="cases whose name contains one of these words")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--fuzz-examples", type=int, default=500, help="params.yaml fuzzing cases (hypothesis)")
    args = ap.parse_args(argv)
    chosen = {n: c for n, c in CASES.items() if not args.only or any(w in n for w in args.only)}
    if args.list:
        print("\n".join(CASES))
        return 0
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="faults-") as tmp:
        proj = make_project(Path(tmp) / "p", shrink(read_yaml(ROOT / "params.yaml")))
        began = time.perf_counter()
        code, out = repro(proj)
        if code != 0:
            print(out[-3000:], file=sys.stderr)
            return 1
        print(f"baseline: the shrunk pipeline reproduced in {time.perf_counter() - began:.0f} s", flush=True)
        proj.git("add", "-A")  # as a user commits dvc.lock and metrics/ after a run
        proj.git("commit", "-qm", "reproduced")
        for name, case in chosen.items():
            began = time.perf_counter()
            results.append(try_case(proj, name, case))
            print(f"{name}: {time.perf_counter() - began:.0f} s", flush=True)
    print(table(results))
    summary = [
        f"stage and process cases: {len(results)}; clear errors: "
        f"{sum(r.exit not in (0, None) and not r.traceback for r in results)}; tracebacks: "
        f"{sum(r.traceback for r in results)}; outputs lost: {sum(bool(r.lost) for r in results)}; outputs "
        f"missing until the next run: {sum(bool(r.missing) for r in results)}; "
        f"outside changed: {sum(bool(r.outside) for r in results)}; wrong results recorded: "
        f"{sum(r.recorded for r in results)}; reruns not the same bytes: {sum(not r.rerun for r in results)}"
    ]
    ok = True
    if not args.only:
        lines, ok = inputs_and_params(args.fuzz_examples)
        summary += lines
    print("\n".join(summary))
    return (
        0
        if ok
        and all(
            r.exit != 0 and not r.traceback and not r.lost and not r.outside and not r.recorded and r.rerun
            for r in results
        )
        else 1
    )


if __name__ == "__main__":
    raise SystemExit(main())
