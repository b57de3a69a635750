"""Builds the DOUBLE libcudart (cudart_double.c, host memory, no CUDA) for the tests that load it.

The library is compiled once per test session with the machine's C compiler; tests that need it
skip, saying so, where there is none.
"""

import ctypes
import os
import shutil
import subprocess

import pytest

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cudart_double.c")


def build(directory):
    """Compile the double into ``directory``; returns the .so path (named as a double)."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler to build the double libcudart")
    target = os.path.join(str(directory), "libcudart_DOUBLE.so")
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-std=c99", "-D_POSIX_C_SOURCE=199309L",
                    "-o", target, SOURCE], check=True, capture_output=True)
    return target


def calls(path, name):
    """How often the double (already loaded into this process from ``path``) saw ``name``."""
    library = ctypes.CDLL(path)
    library.double_calls.restype = ctypes.c_int
    library.double_calls.argtypes = [ctypes.c_char_p]
    return library.double_calls(name.encode())
