"""`dvc exp run -S key=value` rewrites params.yaml through DVC's YAML round trip (issue 16): the file
is kept in the form that round trip writes, so the diff of an experiment is the line it changed."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from dvc.utils.hydra import (
    apply_overrides,  # what `dvc exp run --set-param` calls on params.yaml
)

ROOT = Path(__file__).resolve().parents[1]


def set_param(tmp_path: Path, *overrides: str) -> tuple[str, str]:
    path = tmp_path / "params.yaml"
    shutil.copy(ROOT / "params.yaml", path)
    before = path.read_text()
    apply_overrides(path, list(overrides))
    return before, path.read_text()


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]


def test_setting_a_value_to_itself_changes_no_byte(tmp_path):
    before, after = set_param(tmp_path, "train.mlp.lr=0.01")
    assert after == before, (
        "\n".join(changed_lines(before, after)[:20]) + "\n(see docs/team.md, 'Bitwise reproducibility')"
    )


@pytest.mark.parametrize(
    "override, old, new",
    [
        ("train.mlp.lr=0.03", "    lr: 0.01", "    lr: 0.03"),
        ("download.mnist.retries=5", "    retries: 3", "    retries: 5"),
        (
            "style.style.steps=5",
            "    steps: 120               # course: 2000",
            "    steps: 5                 # course: 2000",
        ),
        ("transfer.transfer.label_map.9=even", "      '9': odd", "      '9': even"),
    ],
)
def test_an_experiments_diff_is_the_line_it_changed(tmp_path, override, old, new):
    assert changed_lines(*set_param(tmp_path, override)) == [f"-{old}", f"+{new}"]
