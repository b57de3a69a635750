"""Fixtures shared by the agent tests: the double libcudart (the Python 3.6 with JetPack's numpy is in
tests/conftest.py, shared with the deploy tests)."""

import subprocess

import pytest

from ..conftest import PYTHON36, JETPACK_NUMPY  # noqa: F401,TID252  (python36_jetpack lives in tests/conftest.py)
from . import cudart_double


@pytest.fixture(scope="session")
def cudart_double_path(tmp_path_factory):
    """Path of the DOUBLE libcudart (host memory, no CUDA), compiled for this session."""
    return cudart_double.build(tmp_path_factory.mktemp("cudart-double"))
