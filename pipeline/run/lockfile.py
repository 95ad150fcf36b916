"""Keep `dvc.lock` in step with `dvc.yaml`, so that `git status` is clean after `make repro`.

DVC adds a stage's entry to `dvc.lock` when the stage runs and never removes one whose stage left
`dvc.yaml`: switch a model to another dataset and back, and `download@anna`, `normalize@...`
stay behind, so the file differs from the committed one with the very same params. DVC also
appends an entry that comes back at the end, so the order would differ too. After a run,
`make repro` therefore drops the entries of stages `dvc.yaml` no longer defines and orders the
rest as `dvc.yaml` defines them (foreach items in the order of their params). Each entry's text
is DVC's own (read and written with DVC's YAML round trip), so a later `dvc repro` updates the
file in place as it always does.

When a run leaves `dvc.lock` other than the committed one, `dvc.lock.cpu` records the machine
that wrote it (CPU, the kernel settings of pipeline/core/kernels.py, torch and Python): commit the two
together. Results are bit-identical only across CPUs that run the same kernels (docs/team.md,
"Bitwise reproducibility"), so when the committed record names another kind of CPU, `make repro`
says so in one line (`other_machine`).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from pipeline.core.io import atomic_open
from pipeline.core.kernels import CPU_KERNELS

LOCK = "dvc.lock"
MACHINE = "dvc.lock.cpu"  # tracked in git beside dvc.lock


def defined_stages(repo: Path) -> list[str]:
    """The names of `dvc.yaml`'s stages (train@mlp...), in its order, as DVC resolves them."""
    from pipeline.core.params import read_yaml
    from pipeline.run.dvc import resolve_stages

    found: list[str] = []
    params = repo / "params.yaml"  # a DVC project need not have one
    names = list(resolve_stages(read_yaml(params) if params.is_file() else {}, repo / "dvc.yaml", found))
    if found:
        raise ValueError(f"dvc.yaml does not resolve: {found[0]}")
    return names


def tidy(repo: Path, names: list[str] | None = None) -> list[str]:
    """Drop the `dvc.lock` entries of stages not in `names` (default: dvc.yaml's) and order the
    rest by `names`. Returns the names dropped; the file is rewritten only when something changes."""
    from ruamel.yaml.comments import CommentedMap

    from pipeline.run.dvc import dump_lock, read_lock_for_update

    path = repo / LOCK
    if not path.is_file():
        return []
    names = defined_stages(repo) if names is None else names
    data = read_lock_for_update(path.read_text(), str(path))
    entries = data.get("stages") or {}
    wanted = set(names)
    dropped = [name for name in entries if name not in wanted]
    ordered = CommentedMap((name, entries[name]) for name in names if name in entries)
    if not dropped and list(ordered) == list(entries):
        return []
    data["stages"] = ordered
    with atomic_open(path) as fh:
        fh.write(dump_lock(data))
    return dropped


def _cpuinfo(field: str) -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.split(":")[0].strip() == field:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine() -> str:
    """What decides the bytes a CPU run writes, as the text of `dvc.lock.cpu`."""
    kernels = " ".join(f"{name}={os.environ.get(name, '(unset)')}" for name in CPU_KERNELS)
    return (
        f"# The machine whose `make repro` last changed dvc.lock (written by pipeline/run/lockfile.py).\n"
        f"cpu: {_cpuinfo('model name')}\nvendor: {_cpuinfo('vendor_id')}\narch: {platform.machine()}\n"
        f"kernels: {kernels}\ntorch: {metadata.version('torch')}\n"
        f"python: {'.'.join(map(str, sys.version_info[:3]))}\n"
    )


def _committed(repo: Path, name: str) -> bytes | None:
    """`name` as the current git commit holds it (None: no git, no commit, or not in it)."""
    try:
        proc = subprocess.run(["git", "show", f"HEAD:{name}"], cwd=repo, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def record_machine(repo: Path) -> bool:
    """Write `dvc.lock.cpu` when `dvc.lock` differs from the committed one (this machine wrote
    what is there now); when it is the committed one again, so is `dvc.lock.cpu`. Returns whether
    the file was written."""
    path, record = repo / LOCK, repo / MACHINE
    if not path.is_file():
        return False
    now = record.read_bytes() if record.is_file() else None
    if path.read_bytes() == _committed(repo, LOCK):
        want = _committed(repo, MACHINE)
        if want is None and now is not None:  # the commit has none: neither does a clean checkout
            record.unlink()
            return True
    else:
        want = machine().encode()
    if want is None or want == now:
        return False
    with atomic_open(record, "wb") as fh:
        fh.write(want)
    return True


def _described(record: str) -> dict[str, str]:
    """The `key: value` lines of a `dvc.lock.cpu` text."""
    return {
        key.strip(): value.strip() for key, sep, value in (line.partition(":") for line in record.splitlines()) if sep
    }


def other_machine(repo: Path) -> str | None:
    """When `dvc.lock` differs from the committed one and the commit's `dvc.lock.cpu` names another
    kind of CPU than this one: the line that says why its outputs may differ, else None."""
    path, committed = repo / LOCK, _committed(repo, MACHINE)
    if committed is None or not path.is_file() or path.read_bytes() == _committed(repo, LOCK):
        return None
    theirs, ours = _described(committed.decode(errors="replace")), _described(machine())
    if all(theirs.get(key) == ours.get(key) for key in ("cpu", "vendor", "arch")):
        return None
    return (
        "dvc.lock differs from the committed one, which came from another kind of CPU "
        f"({theirs.get('cpu', '?')}, {theirs.get('vendor', '?')}; this one: {ours['cpu']}, {ours['vendor']}). "
        "Other CPUs run other kernels: a stage with the same inputs may write other bytes, its metrics within "
        'noise (`dvc metrics diff HEAD`; docs/team.md, "Bitwise reproducibility"). For the committed bytes, '
        "restore them from your team's remote: `make repro PULL=1`"
    )
