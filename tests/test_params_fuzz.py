"""params.yaml fuzzed (issue 15): the real file with random deletions, type swaps, extreme numbers,
unknown keys and unicode is either valid or a ConfigError whose every line starts with a key path;
never another exception. The cases are derandomized: CI runs the same ones every time."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from bench.params_fuzz import MUTATIONS, REAL, classify, mutate, run, unclear_lines
from pipeline.core.errors import ConfigError
from pipeline.run import check
from tests.conftest import ROOT

FUZZ = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


@settings(FUZZ, max_examples=300)
@given(MUTATIONS)
def test_every_changed_params_file_is_valid_or_a_clear_error(ops):
    outcome, detail = classify(ops)
    assert outcome in ("valid", "clear"), detail


@settings(FUZZ, max_examples=30)  # DVC's resolver takes a quarter of a second a case
@given(MUTATIONS)
def test_dvc_yaml_resolved_against_changed_params_never_crashes(ops):
    outcome, detail = classify(ops, dvc=True)
    assert outcome in ("valid", "clear"), detail


@pytest.mark.parametrize(
    "ops, first",
    [
        ([("set", ("train", "mlp", "seed"), -1)], "train.mlp.seed: Input should be greater than or equal to 0"),
        ([("set", ("train", "mlp", "hidden"), [10**9, 512])], "train.mlp.hidden: the model would have at least"),
        ([("set", ("train", "mlp", "lr"), float("nan"))], "train.mlp.lr:"),
        ([("set", ("train", "cnn", "epochs"), 2**63)], None),  # valid: a bound on epochs is not validation's business
        ([("add", (), "tr\u00e4in", {"\x0c": None})], "tr\u00e4in: unknown section"),
        ([("add", (), "", 1)], "'': unknown section"),
        ([("delete", ("train",))], "train: required section is missing"),
        ([("top", (), [1, 2])], "params.yaml: must be a mapping of sections, got list"),
    ],
)
def test_chosen_cases_give_the_expected_first_line(ops, first):
    params = mutate(ops)
    if first is None:
        check.validate(params, datasets=ROOT / "datasets")
        return
    with pytest.raises(ConfigError) as err:
        check.validate(params, datasets=ROOT / "datasets")
    message = str(err.value)
    assert first in message and not unclear_lines(message, params)
    assert "\x0c" not in message  # a control character in a key is shown escaped, on its line


@pytest.mark.parametrize(
    "ops",
    [
        # A backbone that is a list or a mapping: unhashable, it crashed the count of used backbones.
        [("set", ("transfer", "transfer", "backbone"), [{"x": True}, 1.5])],
        [("set", ("style", "style", "content_layer"), {}), ("set", ("transfer", "transfer", "backbone"), {})],
        # `layers: 2**63` hung the parameter count (a loop over the layers).
        [("set", ("sentiment", "sentiment", "layers"), 2**63)],
        # An entry named by a number: a Path / int and a sort of mixed keys crashed.
        [("add", ("download",), 5, {})],
        [("add", ("normalize",), 5, {"val_fraction": 0.1, "seed": 0})],
        # A foreach section that is a list: DVC's ${key} is missing.
        [("set", ("style",), [{"a": 1}, [None]])],
    ],
)
def test_the_crashes_it_found_stay_fixed(ops):
    assert classify(ops, dvc=True)[0] == "clear"


def test_the_script_counts_its_cases():
    counts = run(20)
    assert counts.cases == 20 and counts.valid + counts.clear == 20 and counts.crashes == counts.unclear == 0
    assert mutate([]) == REAL and REAL is not mutate([])
