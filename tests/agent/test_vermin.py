"""The agent must run on a Jetson Nano's Python 3.6: vermin checks the syntax and library calls."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

AGENT = Path(__file__).resolve().parents[2] / "edgetrt" / "agent"


def _vermin():
    beside_python = Path(sys.executable).with_name("vermin")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("vermin")


def test_agent_is_python_3_6_compatible():
    vermin = _vermin()
    if vermin is None:
        pytest.skip("vermin is not installed (pip install vermin, part of the dev extra)")
    result = subprocess.run([vermin, "-q", "--no-tips", "-t=3.6-", "--violations", str(AGENT)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_vermin_catches_a_3_8_construct(tmp_path):
    """The check can fail: a walrus in a file is reported."""
    vermin = _vermin()
    if vermin is None:
        pytest.skip("vermin is not installed (pip install vermin, part of the dev extra)")
    (tmp_path / "late.py").write_text("if (n := 3) > 2:\n    pass\n")
    result = subprocess.run([vermin, "-q", "--no-tips", "-t=3.6-", "--violations", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode != 0
