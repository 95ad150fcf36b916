"""Hand-made filters (stage filters): a Sobel-x kernel finds a vertical edge and nothing else, max
pooling halves each side and keeps each window's largest value; the stage draws the real photos
(the same bytes on a rerun) and the course's own photo; a bad kernel, a missing image or a dataset
that is not photos exits 2 with the key named and no picture written."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
import yaml
from PIL import Image

from pipeline.core.errors import ConfigError
from pipeline.core.io import read_json, write_json
from pipeline.core.params import check
from pipeline.inspection.filters import matrix, max_pool, respond
from pipeline.schema.filters import FiltersParams
from tests.conftest import fetch
from tests.helpers.stages import run_stage

SOBEL_X = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
SOBEL_Y = [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """sample_photos as its download stage writes it: the folder and its facts."""
    root = tmp_path_factory.mktemp("photos")
    facts = fetch("sample_photos", root / "sample_photos")
    write_json(root / "sample_photos.json", asdict(facts))
    return root / "sample_photos", root / "sample_photos.json"


def stage(tmp_path, section: dict, photos, facts, out_dir=None):
    out_dir = out_dir or tmp_path / "out"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"filters": section}))
    proc = run_stage(
        "filters",
        section["photos"],
        "--photos",
        photos,
        "--facts",
        facts,
        "--out",
        out_dir / "filters.png",
        "--metrics",
        out_dir / "filters.json",
        params=tmp_path / "params.yaml",
    )
    return proc, out_dir


def test_sobel_x_finds_a_vertical_edge_and_nothing_else():
    edge = np.zeros((12, 20))
    edge[:, 10:] = 1.0  # dark left half, bright right half
    response = respond(edge, SOBEL_X)
    assert response.shape == edge.shape  # the border is reflected: the same size
    assert np.allclose(response[:, 9:11], 4.0)  # 1 + 2 + 1 on both columns beside the edge
    assert np.abs(np.delete(response, [9, 10], axis=1)).max() == 0
    assert np.abs(respond(edge, SOBEL_Y)).max() == 0  # a horizontal-edge kernel sees nothing
    assert np.allclose(respond(edge.T, SOBEL_Y), response.T)  # the transpose finds the transposed edge
    laplacian = respond(edge, [[0, -1, 0], [-1, 4, -1], [0, -1, 0]])
    assert laplacian[:, 9].min() < 0 < laplacian[:, 10].min() and laplacian[:, :8].max() == 0
    assert matrix(SOBEL_X) == "[-1 0 1; -2 0 2; -1 0 1]" and matrix([[0.5]]) == "[0.5]"


def test_max_pooling_halves_each_side_and_keeps_the_largest_value():
    x = np.arange(20 * 30, dtype=np.float64).reshape(20, 30)
    pooled = max_pool(x, 2)
    assert pooled.shape == (10, 15) and pooled[0, 0] == x[:2, :2].max() and pooled[-1, -1] == x.max()
    assert max_pool(np.zeros((21, 31)), 2).shape == (10, 15)  # a ragged edge is dropped, as nn.MaxPool2d does
    assert max_pool(np.zeros((9, 9)), 3).shape == (3, 3)
    with pytest.raises(ConfigError, match="filters.pool: 4 is larger than the 3x8 response"):
        max_pool(np.zeros((3, 8)), 4)


@pytest.mark.parametrize(
    "kernels, text",
    [
        ({"flat": [[1, 2], [3, 4]]}, "filters.kernels.flat: Value error, must be a square matrix with an odd side"),
        ({"ragged": [[1, 2, 3], [1, 2]]}, "rows of 2 and 3 numbers"),
        (
            {"words": [["a", "b", "c"], [0, 0, 0], [1, 1, 1]]},
            "filters.kernels.words.0.0: Input should be a valid number",
        ),
        ({}, "filters.kernels: Dictionary should have at least 1 item"),
    ],
)
def test_bad_kernels_name_their_key(real_params, kernels, text):
    problems: list[str] = []
    assert check(FiltersParams, real_params["filters"] | {"kernels": kernels}, "filters", problems) is None
    assert any(text in p for p in problems), problems


def test_the_real_section_is_the_course_kernels(real_params):
    p = FiltersParams.model_validate(real_params["filters"])
    assert p.kernels["sobel_y"] == SOBEL_Y and p.kernels["sobel_x"] == SOBEL_X and p.pool == 2
    assert p.photos == "sample_photos"


@pytest.mark.slow
def test_stage_draws_the_sample_photos_the_same_bytes_on_a_rerun(real_params, photos, tmp_path):
    folder, facts = photos
    section = real_params["filters"] | {"size": 96}
    first, out = stage(tmp_path, section, folder, facts, tmp_path / "a")
    second, again = stage(tmp_path, section, folder, facts, tmp_path / "b")
    assert first.returncode == 0 == second.returncode, first.stderr
    png = out / "filters.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.read_bytes() == (again / "filters.png").read_bytes()
    with Image.open(png) as image:
        image.verify()
    with Image.open(png) as image:  # 2 photos x (photo + 3 kernels x 2)
        assert 1200 <= image.size[0] <= 1800 and 400 <= image.size[1] <= 900, image.size
    metrics = read_json(out / "filters.json")
    assert metrics["images"] == 2 and set(metrics["mean_abs_response"]) == set(section["kernels"])
    for kernel, value in metrics["mean_abs_response"].items():  # pooling keeps maxima: never smaller
        assert 0 < value <= metrics["mean_abs_pooled"][kernel]
    assert "china.jpg: 96x64 px" in first.stderr


def test_the_course_photo_works_as_a_photos_dataset(real_params, photos, course_files, tmp_path):
    folder = tmp_path / "raw" / "style_images"
    folder.mkdir(parents=True)
    (folder / "octopus.jpg").write_bytes((course_files / "octopus.jpg").read_bytes())
    facts = read_json(photos[1]) | {"dataset": "style_images", "source": "style_images"}
    write_json(tmp_path / "style_images.json", facts)
    section = real_params["filters"] | {"photos": "style_images", "images": ["octopus.jpg"], "size": 64}
    proc, out = stage(tmp_path, section, folder, tmp_path / "style_images.json")
    assert proc.returncode == 0, proc.stderr
    assert (out / "filters.png").is_file() and read_json(out / "filters.json")["images"] == 1


@pytest.mark.parametrize(
    "change, text",
    [
        (
            {"images": ["china.jpg", "octopus.jpg"]},
            "filters.images: 'octopus.jpg' not in the photos dataset sample_photos",
        ),
        ({"kernels": {"flat": [[1, 2], [3, 4]]}}, "filters.kernels.flat:"),
        ({"pool": 1}, "filters.pool:"),
        ("digits facts", "filters.photos: 'digits' holds image data; the filters stage needs a dataset of photos"),
        ({"photos": "style_images"}, "describes dataset 'sample_photos', not 'style_images'"),
    ],
)
def test_user_errors_exit_2_naming_the_key_and_write_nothing(real_params, photos, tmp_path, change, text):
    folder, facts = photos
    section = dict(real_params["filters"])
    if change == "digits facts":
        facts = tmp_path / "digits.json"
        write_json(facts, read_json(photos[1]) | {"dataset": "digits", "kind": "image"})
        section["photos"] = "digits"
    else:
        section |= change
    proc, out = stage(tmp_path, section, folder, facts)
    assert proc.returncode == 2 and text in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists() or not list(out.iterdir())
