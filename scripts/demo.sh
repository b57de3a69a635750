#!/usr/bin/env bash
# Set up a virtual environment and run the main job: deploy MobileNet v2 to this host as the device.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[tf,report]'
.venv/bin/edgetrt deploy mobilenet_v2 --device local "$@"
