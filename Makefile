# Every target does its own set-up: a fresh machine needs only Python 3.11+ and make.
SHELL := /bin/bash
# Byte-compile on install: machines that set PYTHONDONTWRITEBYTECODE would otherwise recompile
# every module at every start (seconds of cold start for any Python MCP server).
export UV_COMPILE_BYTECODE := 1
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
UV_MISSING := $(shell command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || echo missing)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help install lock test lint format typecheck check demo serve bench bench-quick mutation real-clients-install inspector conformance real-clients clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

install: ## create .venv with exactly the locked versions (requirements.lock, hashes checked)
ifeq ($(UV_MISSING),missing)
	python3 -m pip install --quiet --disable-pip-version-check "uv>=0.5,<1"
endif
	$(UV) venv --quiet --allow-existing --python 3.11 $(VENV) 2>/dev/null || $(UV) venv --quiet --allow-existing $(VENV)
	$(UV) pip sync --quiet --python $(PY) --require-hashes requirements.lock
	$(UV) pip install --quiet --python $(PY) --no-deps --editable .
	$(PY) -m compileall -q server

lock: ## re-resolve requirements.lock from pyproject.toml (then review the diff)
	$(UV) pip compile pyproject.toml --group dev --universal --python-version 3.11 --generate-hashes --quiet -o requirements.lock

test: install ## run every test
	$(PY) -m pytest

lint: install ## ruff lint and format check, and the import-linter layer contracts
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

format: install ## apply ruff fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

typecheck: install ## mypy, strict
	$(PY) -m mypy

check: lint typecheck test ## everything CI runs before the real-client checks

demo: install ## walk through the server on the embedded demo backend
	$(PY) -m ld_insights_mcp.walkthrough

serve: install ## run the demo server over streamable HTTP on 127.0.0.1:8000
	$(VENV)/bin/ld-insights-mcp --demo --transport streamable-http

bench: install ## run the benchmark harness; writes bench/results/latest.json
	$(PY) bench/run.py

bench-quick: install ## a short benchmark smoke run
	$(PY) bench/run.py --quick

mutation: install ## mutation testing of the reliability modules (slow: see docs/mutation.md)
	$(PY) scripts/mutation.py

real-clients-install: ## install the pinned Inspector CLI, conformance suites and Node 22 locally
	cd tests/real_clients && { npm ls --depth=0 >/dev/null 2>&1 || npm ci --no-audit --no-fund --loglevel=error; }

inspector: install real-clients-install ## the MCP Inspector CLI against the stdio demo server
	$(PY) tests/real_clients/run.py inspector

conformance: install real-clients-install ## the conformance suites against the HTTP demo server
	$(PY) tests/real_clients/run.py conformance

real-clients: inspector conformance ## both real-client checks

clean: ## remove build and cache output
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
