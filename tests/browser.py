"""A real browser for the tests of pages a person looks at: Debian's `chromium`, headless, with the
network cut off (every request goes to a proxy that is not there, every host name fails to
resolve), so a page that still needs a CDN shows it by drawing nothing. `.ci/run` installs it."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

OFFLINE = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--mute-audio",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=20000",
]  # lets the page's scripts finish before the DOM or picture is taken
# What would fetch from the network: a script, style sheet or image with an http(s) address.
_REMOTE = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail("no chromium on PATH: `apt-get install chromium` (.ci/run installs it)")
    return exe


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:  # a fresh profile: nothing cached from an earlier run
        return subprocess.run(
            [chromium(), *OFFLINE, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=timeout
        )


def dump_dom(page: Path, timeout: float = 120) -> str:
    """The page's DOM after its scripts ran, offline."""
    proc = _run(["--dump-dom", page.resolve().as_uri()], timeout)
    assert proc.returncode == 0 and "<html" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 2000, timeout: float = 120) -> Path:
    """A PNG of the page as drawn offline (look at it: the tests keep it under their tmp_path)."""
    proc = _run([f"--screenshot={png}", f"--window-size={width},{height}", page.resolve().as_uri()], timeout)
    assert proc.returncode == 0 and png.is_file(), proc.stderr[-2000:]
    return png


def remote_references(html: str) -> list[str]:
    """The tags in `html` that would load something over the network (a self-contained page has none)."""
    return [m.group(0) for m in _REMOTE.finditer(html)]


def blank(png: Path) -> bool:
    """Whether a screenshot is one flat colour (nothing drawn)."""
    from PIL import Image  # installed with torchvision

    with Image.open(png) as im:
        lo, hi = im.convert("L").getextrema()
    return lo == hi
