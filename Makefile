# Every target does its own set-up: a fresh machine needs Python 3.11+ and make (and, for the
# tests, Node.js with npm: the pinned real clients, the MCP Apps host SDK, the OpenID provider).
SHELL := /bin/bash
# Byte-compile on install: machines that set PYTHONDONTWRITEBYTECODE would otherwise recompile
# every module at every start (seconds of cold start for any Python MCP server).
export UV_COMPILE_BYTECODE := 1
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
UV_MISSING := $(shell command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || echo missing)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help install dev venv bundle system-deps lock test lint format typecheck check demo serve bench bench-quick bench-compare mutation real-clients-install inspector conformance real-clients dashboard-screenshot scale-up scale-load scale-down scale-soak clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

# install: what a user runs (the runtime); dev: what tests, lint and the benchmarks need (the
# runtime, the hosted extra and the dev group). Each makes .venv match its lock exactly.
install: ## create .venv with the runtime only, at the locked versions (requirements.lock, hashes checked)
	@$(MAKE) --no-print-directory venv LOCK=requirements.lock

dev: ## create .venv with the runtime, the hosted extra and the dev tools (requirements-dev.lock)
	@$(MAKE) --no-print-directory venv LOCK=requirements-dev.lock

venv:
ifeq ($(UV_MISSING),missing)
	python3 -m pip install --quiet --disable-pip-version-check "uv>=0.5,<1"
endif
	$(UV) venv --quiet --allow-existing --python 3.11 $(VENV) 2>/dev/null || $(UV) venv --quiet --allow-existing $(VENV)
	$(UV) pip sync --quiet --python $(PY) --require-hashes $(LOCK)
	$(UV) pip install --quiet --python $(PY) --no-deps --editable .
	$(PY) -m compileall -q server

SYSTEM_PACKAGES := chromium redis-server nginx squid
system-deps: ## Debian packages the browser, replica and proxy tests use (chromium, redis-server, nginx, squid)
	@missing=""; for bin in chromium redis-server nginx squid; do \
	  command -v $$bin >/dev/null 2>&1 || [ -x /usr/sbin/$$bin ] || missing="$$missing $$bin"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi; \
	for bin in chromium redis-server nginx squid; do \
	  command -v $$bin >/dev/null 2>&1 || [ -x /usr/sbin/$$bin ] || { echo "$$bin is missing" >&2; exit 1; }; done

LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet
lock: ## re-resolve the locks from pyproject.toml (runtime and hosted within the dev one's versions)
	$(UV) pip compile pyproject.toml --extra hosted --group dev $(LOCK_FLAGS) -o requirements-dev.lock
	$(UV) pip compile pyproject.toml $(LOCK_FLAGS) -c requirements-dev.lock -o requirements.lock
	$(UV) pip compile pyproject.toml --extra hosted $(LOCK_FLAGS) -c requirements-dev.lock -o requirements-hosted.lock

test: dev real-clients-install ## run every test (the browser and sign-in tests need the pinned npm tools)
	$(PY) -m pytest

lint: dev ## ruff lint and format check, and the import-linter layer contracts
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

format: dev ## apply ruff fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

typecheck: dev ## mypy, strict
	$(PY) -m mypy

check: lint typecheck test ## everything CI runs before the real-client checks

demo: install ## walk through the server on the embedded demo backend
	$(PY) -m ld_insights_mcp.walkthrough

serve: install ## run the demo server over streamable HTTP on 127.0.0.1:8000
	$(VENV)/bin/ld-insights-mcp --demo --transport streamable-http

bench: dev ## run the benchmark harness; writes bench/results/latest.json
	$(PY) bench/run.py

bench-quick: dev ## a short benchmark smoke run
	$(PY) bench/run.py --quick

bench-compare: dev ## added latency per call: this tree against REF (a commit), in one run
	$(PY) bench/compare.py $(or $(REF),HEAD~1)

mutation: dev ## mutation testing of the reliability modules (slow: see docs/mutation.md)
	$(PY) scripts/mutation.py

real-clients-install: ## install the pinned npm tools locally (Inspector CLI, conformance suites, MCP Apps host SDK, esbuild, mcpb, oidc-provider, Node 22)
	cd tests/real_clients && { npm ls --depth=0 >/dev/null 2>&1 || npm ci --no-audit --no-fund --loglevel=error; }

inspector: dev real-clients-install ## the MCP Inspector CLI against the stdio demo server
	$(PY) tests/real_clients/run.py inspector

conformance: dev real-clients-install ## the conformance suites against the HTTP demo server
	$(PY) tests/real_clients/run.py conformance

real-clients: inspector conformance ## both real-client checks

bundle: dev real-clients-install ## build dist/ld-insights-mcp.mcpb (mcpb validate + pack) and start it as its manifest says
	$(PY) scripts/bundle.py
	$(PY) -m pytest -q -p no:cacheprovider tests/test_bundle.py

dashboard-screenshot: dev real-clients-install ## re-take docs/dashboard.png from the demo (needs Debian's chromium)
	UPDATE_DASHBOARD_SCREENSHOT=1 $(PY) -m pytest -q -p no:cacheprovider tests/dashboard -k "own_metric and checkout"

scale-up: dev ## nginx + 3 replicas + Redis on this machine, no containers (build/scale/)
	$(PY) deploy/scale.py up

scale-load: ## 1,000 tool calls at 100 clients through the scale-up nginx; prints the figures
	$(PY) deploy/scale.py load --calls 1000 --clients 100

scale-down: ## stop what scale-up started
	$(PY) deploy/scale.py down

scale-soak: dev ## ~5 min: 3 replicas, nginx, Redis under varied load, a Redis pause, SIGKILL, SIGTERM; checks and figures (build/scale-soak/)
	$(PY) deploy/soak.py --seconds 300

clean: ## remove build and cache output
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
