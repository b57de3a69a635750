"""Fixtures for the examples' tests: real sshd servers on loopback (tests/device/sshd_server.py)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "device"), str(HERE.parent / "deploy"), str(HERE.parent / "config")]
from sshd_server import fresh_sshd, _no_ssh_agent  # noqa: E402,F401
