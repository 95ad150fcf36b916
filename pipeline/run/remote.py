"""`make push` and `make pull`: `dvc push|pull --run-cache` with DVC's output kept in a log file
(`.dvc/tmp/push.log`, `.dvc/tmp/pull.log`). When it fails, one line instead of a line per file:
how many files failed, the remote's name and URL, the first underlying reason, and the fix.

DVC does not always say why: a pull from a server that does not answer reports the files as
"missing" from the remote. So when DVC's own lines name no reason, the remote is probed (a
folder that cannot exist, or a server that refuses the connection)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from pipeline.core.errors import RemoteError

LOG = ".dvc/tmp/{}.log"
_FAILED = re.compile(r"(\d+) files? failed to (?:upload|download|push|pull|fetch)")
_TRANSFER = re.compile(r"failed to transfer '[^']*' - (.+)$", re.MULTILINE)
_DONE = re.compile(r"\d+ files? (?:pushed|fetched|added|modified|deleted)|up to date")
_MISSING = re.compile(r"^md5: [0-9a-f]{32}", re.MULTILINE)
# What DVC (or the probe) says -> the reason in words and the fix; the first that matches wins.
REASONS = (
    (
        ("Connect call failed", "Connection refused", "[Errno 111]"),
        "connection refused",
        "check the remote's URL and that its server is up (`{modify} url <url>`)",
    ),
    (
        ("Name or service not known", "nodename nor servname", "Temporary failure in name resolution"),
        "unknown host",
        "check the host in the remote's URL (`{modify} url <url>`)",
    ),
    (("timed out", "Timeout"), "the connection timed out", "check your network and the remote's URL"),
    (
        ("Permission denied", "Read-only file system", "[Errno 13]", "[Errno 30]"),
        "permission denied",
        "make the remote writable for you, or push to another one (`dvc remote add -d <name> <url>`)",
    ),
    (
        ("Not a directory", "[Errno 20]"),
        "not a directory (a file is in the way)",
        "point the remote at a folder: `{modify} url <folder>`",
    ),
    (
        ("No such file or directory", "[Errno 2]"),
        "no such file or directory",
        "check the remote's URL (`{modify} url <url>`), or push from a machine that has the files",
    ),
    (("No space left", "[Errno 28]"), "the remote's disk is full", "free space on the remote"),
)


def dvc(*args: str) -> subprocess.CompletedProcess:
    """Run `dvc <args>` (the one beside this interpreter, else on PATH); output captured as text."""
    exe = shutil.which("dvc", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([exe or "dvc", *args], capture_output=True, text=True)


# The config file a setting came from (`dvc config --list --show-origin`) -> the flag that edits it;
# any other file is the user's (--global) or, under /etc, the machine's (--system).
_LEVELS = {".dvc/config.local": " --local", ".dvc/config": ""}


def remote_of(name: str | None) -> tuple[str, str, str]:
    """(name, URL, the command that changes that URL where it is set) of `name`, or of the default
    remote. A URL set in .dvc/config.local overrides .dvc/config, so the fix must edit the former."""
    config, origin = {}, {}
    for line in dvc("config", "--list", "--show-origin").stdout.splitlines():
        where, _, setting = line.partition("\t")
        key, eq, value = setting.partition("=")
        if eq:  # the last level that sets a key wins, as DVC reads them: system, global, repo, local
            config[key], origin[key] = value, where
    remotes = {key[7:-4]: url for key, url in config.items() if key.startswith("remote.") and key.endswith(".url")}
    name = name or config.get("core.remote", "")
    if not name or name not in remotes:
        have = ", ".join(sorted(remotes)) or "none"
        raise RemoteError(
            f"no DVC remote {'named ' + repr(name) if name else 'is the default'} (remotes: {have}): "
            "add one with `dvc remote add -d <name> <url>`"
        )
    source = origin[f"remote.{name}.url"]
    level = _LEVELS.get(source, " --system" if source.startswith("/etc") else " --global")
    return name, remotes[name], f"dvc remote modify{level} {name}"


def probe(url: str) -> str:
    """Why the remote at `url` cannot be used, as an error text a REASON matches ('' if none found)."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        path = Path(parsed.path if parsed.scheme else url).expanduser()
        while not path.exists() and path != path.parent:
            path = path.parent
        if path.exists() and not path.is_dir():
            return f"[Errno 20] Not a directory: '{path}'"
        if path.is_dir() and os.geteuid() != 0 and not os.access(path, os.W_OK | os.X_OK):
            return f"[Errno 13] Permission denied: '{path}'"
        return ""
    if parsed.hostname:
        port = parsed.port or {"http": 80, "https": 443, "ssh": 22}.get(parsed.scheme)
        if port:
            try:
                socket.create_connection((parsed.hostname, port), timeout=5).close()
            except OSError as err:
                return str(err)
    return ""


def summary(command: str, output: str, name: str, url: str, modify: str | None = None) -> str:
    """DVC's failed output -> one line: how many files, the remote, the first reason, the fix."""
    failed = [int(m) for m in _FAILED.findall(output)] or [len(_TRANSFER.findall(output))]
    count = failed[0] or len(_MISSING.findall(output))
    first = next((m.group(1) for m in map(_TRANSFER.search, output.splitlines()) if m), "")
    said = " ".join([first, output if not first else "", probe(url)])
    for needles, reason, fix in REASONS:
        if any(n in said for n in needles):
            break
    else:
        reason, fix = "DVC gave no reason", f"see {LOG.format(command)}"
    files = f" for {count} file{'s' * (count != 1)}" if count else ""
    return (
        f"error: dvc {command} failed{files} with remote '{name}' ({url}): {reason}; "
        f"{fix.format(modify=modify or f'dvc remote modify {name}')} (DVC's output: {LOG.format(command)})"
    )


def sync(command: str, remote: str | None = None, stream=sys.stdout) -> int:
    """`dvc <command> --run-cache` (push or pull); 0 on success, 1 when it failed, 2 with no remote."""
    try:
        name, url, modify = remote_of(remote)
    except RemoteError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    proc = dvc(command, "--run-cache", "-r", name)
    output = proc.stdout + proc.stderr
    log = Path(LOG.format(command))
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(output)
    if proc.returncode != 0:
        print(summary(command, output, name, url, modify), file=sys.stderr)
        return 1
    done = [line.strip() for line in output.splitlines() if _DONE.search(line)]
    stream.write(f"{', '.join(done) or 'done'} (remote '{name}', {url})\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`make push` / `make pull` (`python -m pipeline.run.remote push|pull [-r REMOTE]`): `sync`'s exit status."""
    ap = argparse.ArgumentParser(prog="python -m pipeline.run.remote", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=("push", "pull"))
    ap.add_argument("-r", "--remote", help="the remote's name (default: DVC's default remote)")
    args = ap.parse_args(argv)
    return sync(args.command, args.remote)


if __name__ == "__main__":
    raise SystemExit(main())
