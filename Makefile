# Every target does its own set-up: a fresh machine needs only Python 3.11+ and make.
SHELL := /bin/bash
# Byte-compile on install: machines that set PYTHONDONTWRITEBYTECODE would otherwise recompile
# every module at every start (seconds of cold start for any Python MCP server).
export UV_COMPILE_BYTECODE := 1
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTHON_UV_CHECK := $(shell command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || echo missing)

.PHONY: help install test lint format typecheck check demo serve bench bench-quick real-clients-install inspector conformance real-clients clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

install: ## create .venv from uv.lock (installs uv first if needed)
ifeq ($(PYTHON_UV_CHECK),missing)
	python3 -m pip install --quiet --disable-pip-version-check "uv>=0.5,<1"
endif
	$(UV) sync --locked --quiet
	$(UV) run --no-sync python -m compileall -q server

test: install ## run every test
	$(UV) run pytest

lint: install ## ruff lint and format check
	$(UV) run ruff check .
	$(UV) run ruff format --check .

format: install ## apply ruff fixes and formatting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

typecheck: install ## mypy, strict
	$(UV) run mypy

check: lint typecheck test ## everything CI runs before the real-client checks

demo: install ## walk through the server on the embedded demo backend
	$(UV) run python -m ld_insights_mcp.walkthrough

serve: install ## run the demo server over streamable HTTP on 127.0.0.1:8000
	$(UV) run ld-insights-mcp --demo --transport streamable-http

bench: install ## run the benchmark harness; writes bench/results/latest.json
	$(UV) run python bench/run.py

bench-quick: install ## a short benchmark smoke run
	$(UV) run python bench/run.py --quick

real-clients-install: ## install the pinned Inspector CLI, conformance suites and Node 22 locally
	cd tests/real_clients && { npm ls --depth=0 >/dev/null 2>&1 || npm ci --no-audit --no-fund --loglevel=error; }

inspector: install real-clients-install ## the MCP Inspector CLI against the stdio demo server
	$(UV) run python tests/real_clients/run.py inspector

conformance: install real-clients-install ## the conformance suites against the HTTP demo server
	$(UV) run python tests/real_clients/run.py conformance

real-clients: inspector conformance ## both real-client checks

clean: ## remove build and cache output
	rm -rf .venv build dist .pytest_cache .mypy_cache .ruff_cache
