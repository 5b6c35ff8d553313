#!/bin/sh
# The replica image's install, run by deploy/Dockerfile (and by tests/test_packaging.py, so a
# broken install fails a test, not a build): a fresh venv at $1 holding exactly the hosted lock
# (runtime + the hosted extra, every hash checked), then the project itself without resolving
# anything again. Run from a directory holding requirements-hosted.lock and the project.
set -eu
venv="$1"
"${PYTHON:-python}" -m venv "$venv"
"$venv/bin/pip" install --require-hashes --requirement requirements-hosted.lock
"$venv/bin/pip" install --no-deps .
"$venv/bin/python" -m compileall -q "$venv"
