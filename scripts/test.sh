#!/usr/bin/env bash
# Set up a virtual environment with the test tools and run every test (what the README and CI call).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[dev]'
# The on-device agent must run on a Jetson Nano's Python 3.6.
.venv/bin/vermin -q --no-tips --violations -t=3.6- edgetrt/agent
.venv/bin/python -m pytest -q "$@"
