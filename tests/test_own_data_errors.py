"""Bad files of your own stop the download stage, before anything is written or trained: one line
that names the file (and the line or column) and the fix, exit status 2, no output left."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from tests.helpers.stages import run_stage


def download(tmp_path, small_params, name: str, entry: dict) -> tuple[subprocess.CompletedProcess, str]:
    """Run the download stage of dataset `name` (files in tmp_path/datasets/<name>); (the run, its
    message without the logger's prefix)."""
    small_params["download"][name] = entry
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(small_params, sort_keys=False))
    proc = run_stage(
        "download",
        name,
        "--dataset-dir",
        tmp_path / "datasets" / name,
        "--out",
        tmp_path / "raw",
        "--facts",
        tmp_path / "facts.json",
        params=params,
    )
    lines = proc.stderr.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("ERROR ")), len(lines))
    return proc, "\n".join(lines[first:]).removeprefix("ERROR pipeline: ")  # the error, without the log before it


def folder(tmp_path, name: str = "mine"):
    path = tmp_path / "datasets" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def table(tmp_path, text: str, name: str = "data.csv"):
    path = folder(tmp_path) / name
    path.write_text(text, encoding="utf-8")
    return path


BAD = {
    "a missing column": (
        {"source": "table_csv", "label_column": "admitted", "onehot": ["rank"]},
        lambda tmp, data: shutil.copy(data / "student_data.csv", folder(tmp)),
        "{dir}/student_data.csv: no column 'admitted' (columns: admit, gre, gpa, rank); "
        "set download.mine.label_column to one of them",
    ),
    "one class only": (
        {"source": "labeled_text", "text_column": "text", "label_column": "label"},
        lambda tmp, data: table(tmp, "text,label\ngood film,pos\nfine acting,pos\n"),
        "{dir}/data.csv: one class only in column 'label' (pos); a classifier needs examples of at least two",
    ),
    "three classes for a binary model": (
        {"source": "labeled_text"},
        lambda tmp, data: [(folder(tmp) / c).mkdir() or (folder(tmp) / c / "1.txt").write_text(c) for c in "abc"],
        "{dir}: 3 classes in the class sub-folders (a, b, c); the sentiment model is binary (one "
        "sigmoid output): keep two classes, or merge them into two",
    ),
    "invalid UTF-8": (
        {"source": "text_files"},
        lambda tmp, data: (folder(tmp) / "story.txt").write_bytes(b"one\ntwo\nthr\xe9e\n"),
        "{dir}/story.txt: line 3 is not UTF-8 (byte 0xe9); save the file as UTF-8 "
        "(e.g. iconv -f latin1 -t utf-8 story.txt > fixed.txt)",
    ),
    "an empty file": (
        {"source": "text_files"},
        lambda tmp, data: [shutil.copy(data / "anna.txt", folder(tmp)), (folder(tmp) / "b.txt").write_text("\n")],
        "{dir}/b.txt: empty; add text to it or remove it",
    ),
    "an unreadable image": (
        {"source": "photos"},
        lambda tmp, data: [
            shutil.copy(data / "octopus.jpg", folder(tmp)),
            (folder(tmp) / "hockney.jpg").write_bytes((data / "hockney.jpg").read_bytes()[:2000]),
        ],
        "{dir}/hockney.jpg: not a readable image (image file is truncated ...); replace it or remove it",
    ),
    "a word where a number belongs": (
        {"source": "table_csv", "label_column": "y"},
        lambda tmp, data: table(tmp, "x,colour,y\n1,red,0\n2,blue,1\n"),
        "{dir}/data.csv: line 2, column 'colour': 'red' is not a finite number; fix it, or add 'colour' to "
        "download.mine.onehot if it is a category",
    ),
    "a missing label_column": (
        {"source": "table_csv"},
        lambda tmp, data: table(tmp, "x,y\n1,0\n2,1\n"),
        "params.yaml is invalid:\n  - download.mine.label_column: required for a table_csv source (the name of "
        "a column of your table)",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_file_stops_the_download_with_one_line(case, tmp_path, small_params, course_files):
    entry, make, expected = BAD[case]
    make(tmp_path, course_files)
    proc, message = download(tmp_path, small_params, "mine", entry)
    assert proc.returncode == 2, proc.stderr
    head, _, tail = expected.format(dir=tmp_path / "datasets/mine").partition("...")  # ... : varies
    assert message.startswith(head) and message.endswith(tail), message
    assert "Traceback" not in proc.stderr and (len(message.splitlines()) == 1 or case == "a missing label_column")
    assert not (tmp_path / "raw").exists() and not (tmp_path / "facts.json").exists()
    assert not list(tmp_path.glob("raw*"))  # no partial folder either


def test_column_keys_belong_to_their_source(tmp_path, small_params, course_files):
    shutil.copy(course_files / "anna.txt", folder(tmp_path))
    proc, message = download(tmp_path, small_params, "mine", {"source": "text_files", "label_column": "x"})
    assert proc.returncode == 2
    assert "download.mine.label_column: only for labeled_text or table_csv sources" in message


def test_files_from_a_mirror_are_checked_after_their_checksum(tmp_path, small_params):
    """mirrors plus checksums instead of the folder: the fetched file is read before it is kept."""
    import hashlib

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "votes.csv").write_text("x,y\n1,0\n2,0\n", encoding="utf-8")
    md5 = hashlib.md5((mirror / "votes.csv").read_bytes()).hexdigest()
    folder(tmp_path)  # the folder stays a dependency, even when empty
    entry = {"source": "table_csv", "label_column": "y", "mirrors": [mirror.as_uri()], "checksums": {"votes.csv": md5}}
    proc, message = download(tmp_path, small_params, "mine", entry)
    assert proc.returncode == 2
    assert message == (
        "mine's file votes.csv: one class only in column 'y' (0); a classifier needs examples of at least two"
    )
    assert not list(tmp_path.glob("raw*")) and not (tmp_path / "facts.json").exists()
    (mirror / "votes.csv").write_text("x,y\n1,0\n2,1\n", encoding="utf-8")
    entry["checksums"]["votes.csv"] = hashlib.md5((mirror / "votes.csv").read_bytes()).hexdigest()
    proc, message = download(tmp_path, small_params, "mine", entry)
    assert proc.returncode == 0, message
    assert (tmp_path / "raw/votes.csv").is_file()
    assert json.loads((tmp_path / "facts.json").read_text())["classes"] == ["0", "1"]
