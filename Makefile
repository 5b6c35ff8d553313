# Every target does its own set-up: a fresh machine needs only Python 3.11+ and make.
SHELL := /bin/bash
# Byte-compile on install: machines that set PYTHONDONTWRITEBYTECODE would otherwise recompile
# every module at every start (seconds of cold start for any Python MCP server).
export UV_COMPILE_BYTECODE := 1
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
UV_MISSING := $(shell command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || echo missing)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help install system-deps lock test lint format typecheck check demo serve bench bench-quick bench-compare mutation real-clients-install inspector conformance real-clients dashboard-screenshot clean

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

SYSTEM_PACKAGES := chromium redis-server nginx
system-deps: ## Debian packages the browser and replica tests use (chromium, redis-server, nginx)
	@missing=""; for bin in chromium redis-server nginx; do \
	  command -v $$bin >/dev/null 2>&1 || [ -x /usr/sbin/$$bin ] || missing="$$missing $$bin"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi; \
	for bin in chromium redis-server nginx; do \
	  command -v $$bin >/dev/null 2>&1 || [ -x /usr/sbin/$$bin ] || { echo "$$bin is missing" >&2; exit 1; }; done

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

bench-compare: install ## added latency per call: this tree against REF (a commit), in one run
	$(PY) bench/compare.py $(or $(REF),HEAD~1)

mutation: install ## mutation testing of the reliability modules (slow: see docs/mutation.md)
	$(PY) scripts/mutation.py

real-clients-install: ## install the pinned Inspector CLI, conformance suites, Node 22 and oidc-provider (tests/auth) locally
	cd tests/real_clients && { npm ls --depth=0 >/dev/null 2>&1 || npm ci --no-audit --no-fund --loglevel=error; }

inspector: install real-clients-install ## the MCP Inspector CLI against the stdio demo server
	$(PY) tests/real_clients/run.py inspector

conformance: install real-clients-install ## the conformance suites against the HTTP demo server
	$(PY) tests/real_clients/run.py conformance

real-clients: inspector conformance ## both real-client checks

dashboard-screenshot: install ## re-take docs/dashboard.png (needs Debian's chromium)
	UPDATE_DASHBOARD_SCREENSHOT=1 $(PY) -m pytest -q -p no:cacheprovider tests/dashboard -k trend

scale-up: install ## nginx + 3 replicas + Redis on this machine, no containers (build/scale/)
	$(PY) deploy/scale.py up

scale-load: ## 1,000 tool calls at 100 clients through the scale-up nginx; prints the figures
	$(PY) deploy/scale.py load --calls 1000 --clients 100

scale-down: ## stop what scale-up started
	$(PY) deploy/scale.py down

clean: ## remove build and cache output
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
