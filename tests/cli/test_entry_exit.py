"""cli/entry.py ends a command with os._exit after the exit handlers: the status, every byte of
output and what handlers registered during the command do (a temporary directory removed) are as
with a normal exit; a handler registered before it (a coverage hook) keeps Python's own exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_RUN = """
import atexit, shutil, sys, tempfile
holder = tempfile.mkdtemp()
open(sys.argv.pop(1), "w").write(holder)
early = sys.argv.pop(1) == "early"
if early:
    atexit.register(shutil.rmtree, holder)  # as a hook from site would, before edgetrt starts
sys.argv[0] = "edgetrt"
from edgetrt.cli import entry
real = entry._run_app

def run_app():
    if not early:
        atexit.register(shutil.rmtree, holder)  # as a library would, during the command
    real()

entry._run_app = run_app
entry.main()
"""


def run(tmp_path, when, *argv):
    marker = tmp_path / "holder.txt"
    proc = subprocess.run([sys.executable, "-c", _RUN, str(marker), when, *argv], capture_output=True, text=True,
                          cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(REPO), EDGETRT_CACHE=str(tmp_path / "c")),
                          timeout=120)
    return proc, Path(marker.read_text())


def test_a_command_ends_with_its_status_and_all_its_output(tmp_path):
    proc, holder = run(tmp_path, "during", "models", "--json")
    assert proc.returncode == 0
    assert len(json.loads(proc.stdout)["models"]) > 5
    assert not holder.exists()  # the handler registered during the command ran


def test_an_error_keeps_its_status_and_its_lines(tmp_path):
    proc, holder = run(tmp_path, "during", "deploy", "m", "--device", "no-such-device")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: unknown device 'no-such-device'")
    assert not holder.exists()


def test_a_handler_from_before_the_command_still_runs(tmp_path):
    proc, holder = run(tmp_path, "early", "models", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["models"]
    assert not holder.exists()
