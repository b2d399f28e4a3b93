# The two commands a newcomer needs: `make demo` and `make test`. Everything else is on demand.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench fuzz clean postgres browser

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	@python3 -c 'import venv, ensurepip' 2>/dev/null || { apt-get update && apt-get install -y python3-venv; }
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m gateway.demo

postgres:
	bash scripts/ensure-postgres.sh

browser:
	bash scripts/ensure-chromium.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check adapters gateway tests bench
	$(VENV)/bin/ruff format --check adapters gateway tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest -q

test: $(STAMP) postgres browser lint typecheck unit

bench: $(STAMP)
	$(PY) bench/run.py

# Mutation fuzzing of every adapter, on demand: FUZZ_ARGS="--seconds 3600 --seed 7 --adapter eiwo"
fuzz: $(STAMP)
	$(PY) -m tests.fuzz_adapters $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache var
