"""The session's shared builds (tests/helpers/session.py): built once, reused, and built again
from nothing after a failed attempt."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers.session import DONE, build_once


def test_a_build_runs_once_and_a_failed_one_is_redone_from_nothing(tmp_path_factory):
    name = f"probe-{uuid.uuid4().hex}"
    calls = []

    def failing(folder):
        (folder / "half-written").write_text("x")
        raise RuntimeError("build failed")

    with pytest.raises(RuntimeError):
        build_once(tmp_path_factory, name, failing)

    def good(folder):
        calls.append(sorted(p.name for p in folder.iterdir()))
        (folder / "result").write_text("ok")

    first = build_once(tmp_path_factory, name, good)
    second = build_once(tmp_path_factory, name, good)
    assert first == second and (first / "result").read_text() == "ok" and (first / DONE).is_file()
    assert calls == [[]]  # built once, in an empty folder: the failed attempt's file was gone
