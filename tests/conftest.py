"""Shared test fixtures: where the real data lives, an isolated edgetrt cache per session."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Real data the tests use, copied into the repository with its provenance (tests/data/MANIFEST.tsv,
# tests/fixtures/README.md): a fresh clone needs nothing beside it.
DATA = REPO / "tests" / "data"
FIXTURES = REPO / "tests" / "fixtures"


def pyenv_python(version: str) -> str | None:
    """pyenv's real CPython ``version`` (e.g. "3.6"), not its shim (a shim fails unless that version
    is the selected one); None when this machine has none."""
    import shutil

    roots = {Path(os.environ.get("PYENV_ROOT", "~/.pyenv")).expanduser(), Path("/root/.pyenv")}
    for root in roots:
        for candidate in sorted(root.glob(f"versions/{version}.*/bin/python{version}")):
            return str(candidate)
    found = shutil.which(f"python{version}")
    return found if found and "shims" not in found else None


PYTHON36 = pyenv_python("3.6")
#: JetPack 4.6's own numpy: Ubuntu 18.04's python3-numpy
JETPACK_NUMPY = "numpy==1.13.3"


@pytest.fixture(scope="session")
def python36_jetpack(tmp_path_factory):
    """A CPython 3.6 virtual environment with numpy 1.13.3, as a stock JetPack 4.6 has."""
    import subprocess

    if PYTHON36 is None:
        pytest.skip("no CPython 3.6 on this machine")
    venv = tmp_path_factory.mktemp("py36-jetpack") / "venv"
    subprocess.run([PYTHON36, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    proc = subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           JETPACK_NUMPY], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        pytest.skip("{} for Python 3.6 could not be installed: {}".format(
            JETPACK_NUMPY, proc.stderr.strip()[-300:]))
    return python


def manifest_rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """tests/data: real pretrained weights, their MANIFEST.tsv, and real photos under images/."""
    return DATA


@pytest.fixture(scope="session", autouse=True)
def isolated_edgetrt_home(tmp_path_factory):
    """Keep conversions, results and the local device's store out of the user's home."""
    base = tmp_path_factory.mktemp("edgetrt-home")
    old = {k: os.environ.get(k) for k in ("EDGETRT_CACHE", "EDGETRT_RESULTS", "XDG_CONFIG_HOME")}
    os.environ["EDGETRT_CACHE"] = str(base / "cache")
    os.environ["EDGETRT_RESULTS"] = str(base / "results")
    os.environ["XDG_CONFIG_HOME"] = str(base / "config")
    yield base
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
