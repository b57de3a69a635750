"""Fixtures shared by the agent tests: the double libcudart and a Python 3.6 with JetPack's numpy."""

import subprocess

import pytest

from ..conftest import pyenv_python  # noqa: TID252
from . import cudart_double

PYTHON36 = pyenv_python("3.6")
#: JetPack 4.6's own numpy: Ubuntu 18.04's python3-numpy
JETPACK_NUMPY = "numpy==1.13.3"


@pytest.fixture(scope="session")
def cudart_double_path(tmp_path_factory):
    """Path of the DOUBLE libcudart (host memory, no CUDA), compiled for this session."""
    return cudart_double.build(tmp_path_factory.mktemp("cudart-double"))


@pytest.fixture(scope="session")
def python36_jetpack(tmp_path_factory):
    """A CPython 3.6 virtual environment with numpy 1.13.3, as a stock JetPack 4.6 has."""
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
