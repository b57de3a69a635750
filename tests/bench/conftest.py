"""Fixtures for the bench tests; the record builders live in bench_records.py (importable by name)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_records import nano_record  # noqa: E402


@pytest.fixture
def record() -> dict:
    return nano_record()
