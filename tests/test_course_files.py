"""The course's real files the tests train on live in the repository (tests/data/), each listed in
its README with its size and MD5: a clone anywhere runs every test, and a changed file is caught."""

from __future__ import annotations

import hashlib
import re

from tests.conftest import COURSE_FILES

ROW = re.compile(r"^\| (?P<name>[\w.]+) \| (?P<bytes>[\d,]+) \| (?P<md5>[0-9a-f]{32}) \|", re.M)


def test_every_file_is_listed_with_its_size_and_md5():
    listed = {m["name"]: m for m in ROW.finditer((COURSE_FILES / "README.md").read_text())}
    present = {p.name for p in COURSE_FILES.iterdir() if p.name != "README.md"}
    assert set(listed) == present and len(present) == 7, (sorted(listed), sorted(present))
    for name, row in listed.items():
        data = (COURSE_FILES / name).read_bytes()
        assert len(data) == int(row["bytes"].replace(",", "")), name
        assert hashlib.md5(data).hexdigest() == row["md5"], f"{name} differs from its upstream copy"
