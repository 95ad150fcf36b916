# The two commands a newcomer needs (see README):
#   make repro   set up .venv if needed, validate params.yaml, run the pipeline (`dvc repro`, stages in parallel)
#   make test    set up .venv if needed, run the whole test suite (CI runs this)
# Set-up installs the exact versions in uv.lock and does nothing when they are already there.

PYTHON    ?= python3
VENV      := .venv
UV_VERSION := 0.13.9
STAMP     := $(VENV)/.synced
BIN       := $(CURDIR)/$(VENV)/bin
# Stage commands say `python`; this makes it the project's interpreter.
RUN       := PATH="$(BIN):$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV)"

.PHONY: repro test test-quick lint deps check push pull bench faults setup clean-venv

setup: $(STAMP)

# --compile-bytecode: write every installed module's .pyc now. Without it, a machine that sets
# PYTHONDONTWRITEBYTECODE (as many container images do) compiles torch and dvc from source in
# every process, which slows every stage's start and every `dvc repro` (figures: bench/README.md).
$(STAMP): pyproject.toml uv.lock Makefile
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/uv --version 2>/dev/null | grep -q " $(UV_VERSION)" || \
		$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never \
		$(VENV)/bin/uv sync --frozen --compile-bytecode --python $(VENV)/bin/python
	@touch $@

# Before anything runs: dvc.yaml's code deps are still what the stages import (else `make deps`),
# then params.yaml against every schema and dvc.yaml.
check: $(STAMP)
	@$(RUN) python -m pipeline.run.deps --check
	$(RUN) python -m pipeline.run.check params.yaml

# `dvc repro` runs one stage at a time; pipeline/run/parallel.py runs every stage whose inputs are
# ready at once, each through `dvc repro --single-item`, up to JOBS at a time (default: one per
# CPU). Same outputs, same dvc.lock. JOBS=1 for one at a time; plain `dvc repro` also works.
# PULL=1 (a teammate): `make pull` first, then each out-of-date stage that the remote's run-cache
# holds is downloaded instead of computed (`dvc repro --pull`, one stage at a time).
JOBS ?=
PULL ?=
repro: check
	$(RUN) python -m pipeline.run.parallel $(if $(JOBS),--jobs $(JOBS)) $(if $(PULL),--pull)

# Share what you trained (outputs and the run-cache) with the default remote (REMOTE=<name> for
# another), so that nobody retrains it: teammates get it with `make repro PULL=1` (or `make pull`)
# (see README, "Working as a team"). DVC's output goes to .dvc/tmp/push.log (pull.log); a failure
# prints one line: how many files, the remote, the reason and the fix.
push: $(STAMP)
	$(RUN) python -m pipeline.run.remote push $(if $(REMOTE),--remote $(REMOTE))

pull: $(STAMP)
	$(RUN) python -m pipeline.run.remote pull $(if $(REMOTE),--remote $(REMOTE))

# Each stage's code deps in dvc.yaml, rewritten from what its script imports (tests/test_dvc_yaml.py
# fails, naming this command, when they disagree).
deps: $(STAMP)
	$(RUN) python -m pipeline.run.deps

# Lint and format checks (ruff, configured in pyproject.toml); `ruff format .` fixes the format.
lint: $(STAMP)
	$(RUN) ruff check .
	$(RUN) ruff format --check .

# The lint, then every test, on every core; each test's duration goes to test-output/durations.tsv.
test: lint
	$(RUN) python -m pytest

# The quick loop while you work: the tests not marked slow (no pipeline build, no real dvc CLI on
# the shrunk pipeline, no training that takes seconds). `make test` (and CI) still runs them all.
test-quick: $(STAMP)
	$(RUN) python -m pytest -m "not slow"

# Speed, each figure beside a baseline from the same run: prints a table, writes bench/results.json
# (minutes: it includes the whole pipeline from scratch twice; BENCH_ARGS=--skip-pipeline skips that;
# how long it takes: bench/README.md).
bench: $(STAMP)
	$(RUN) python bench/speed.py $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)

# The fault matrix: every bad input and fault tried on a shrunk copy of the project, with what the
# user sees and what is left afterwards (minutes; figures: bench/README.md, "Faults").
faults: $(STAMP)
	$(RUN) python bench/faults.py $(FAULTS_ARGS)
