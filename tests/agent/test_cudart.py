"""The ctypes CUDA layer (cudart.py) against a DOUBLE libcudart compiled here, and against this
machine's real libcudart.so.13, which has no driver to talk to.

The double (cudart_double.c) implements the runtime's C signatures on host memory, so the ctypes
argument types, the pointers and every byte copied are real; the real library proves the error
path: CUDA's own words for a missing driver.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edgetrt.agent import outcome
from edgetrt.agent.backends.tensorrt import cudart
from edgetrt.agent.backends.tensorrt.cuda import available_cuda, open_cuda

from . import cudart_double


def test_session_on_the_double_round_trips_an_array(cudart_double_path):
    session = cudart.CudartSession(cudart_double_path)
    try:
        assert session.compute_capability() == "5.3"
        facts = session.describe()
        assert facts["integrated"] is True and facts["runtime_version"] == "10.2"
        host_in = session.pinned((2, 3), np.float32)
        host_in[...] = np.arange(6, dtype=np.float32).reshape(2, 3) + 0.5
        device = session.alloc(host_in.nbytes)
        host_out = session.pinned((2, 3), np.float32)
        session.htod(device, host_in)
        session.dtoh(host_out, device)
        session.synchronize()
        np.testing.assert_array_equal(host_out, host_in)
        assert host_out.ctypes.data != host_in.ctypes.data
        assert cudart_double.calls(cudart_double_path, "cudaMemcpyAsync") >= 2
        start, end = session.event(), session.event()
        session.record(start)
        session.record(end)
        assert session.elapsed_ms(start, end) >= 0.0
    finally:
        frees_before = cudart_double.calls(cudart_double_path, "cudaFree")
        session.close()
    assert cudart_double.calls(cudart_double_path, "cudaFree") == frees_before + 1


def test_a_failed_call_carries_cudas_name_and_words(cudart_double_path, monkeypatch):
    session = cudart.CudartSession(cudart_double_path)
    monkeypatch.setenv("CUDART_DOUBLE_FAIL", "cudaMalloc:2")
    with pytest.raises(cudart.CudaError) as info:
        session.alloc(1 << 20)
    session.close()
    text = "{}: {}".format(type(info.value).__name__, info.value)
    assert "cudaMalloc failed: cudaErrorMemoryAllocation (2): out of memory" in text
    assert outcome.classify_exception_text(text) == "oom"


def test_the_cuda_library_is_found_where_options_say_and_nowhere_else_when_absent(tmp_path,
                                                                                   cudart_double_path):
    assert available_cuda({"cudart": cudart_double_path, "cuda": "cudart"}) == {
        "kind": "cudart", "detail": cudart_double_path}
    assert available_cuda({"cudart": str(tmp_path / "missing.so"), "cuda": "cudart"}) is None
    # Under a root with no CUDA installed and an empty Python path, nothing is found on disk.
    assert cudart.find_libcudart(root=str(tmp_path), search_path=[]) is None
    lib = tmp_path / "usr" / "local" / "cuda-10.2" / "lib64"
    lib.mkdir(parents=True)
    (lib / "libcudart.so.10.2.300").write_bytes(b"")
    assert cudart.find_libcudart(root=str(tmp_path), search_path=[]) == str(lib / "libcudart.so.10.2.300")


def test_open_cuda_takes_the_double_when_no_python_package_is_there(cudart_double_path):
    session = open_cuda({"cudart": cudart_double_path, "cuda": "cudart"})
    assert isinstance(session, cudart.CudartSession) and session.path == cudart_double_path
    session.close()


REAL = cudart.find_libcudart(search_path=[])


@pytest.mark.skipif(REAL is None, reason="no real libcudart.so* on this machine")
def test_the_real_runtime_without_a_driver_says_so_in_its_own_words():
    with pytest.raises(cudart.CudaError) as info:
        cudart.CudartSession(REAL)
    message = str(info.value)
    assert "cudaErrorInsufficientDriver (35)" in message or "cudaErrorNoDevice (100)" in message
    assert "CUDA driver version is insufficient" in message or "no CUDA-capable device" in message
    assert REAL in message
    assert outcome.classify_exception_text(message) == "error"


@pytest.mark.skipif(REAL is None, reason="no real libcudart.so* on this machine")
def test_the_real_runtime_reports_its_version_without_a_driver():
    lib, _ = cudart.load(REAL)
    import ctypes

    version = ctypes.c_int()
    assert lib.cudaRuntimeGetVersion(ctypes.byref(version)) == 0
    assert version.value // 1000 >= 10


def test_the_ctypes_layer_needs_no_numpy_to_import():
    code = textwrap.dedent("""
        import sys
        import edgetrt.agent.backends.tensorrt.cudart, edgetrt.agent.backends.tensorrt.cuda
        assert "numpy" not in sys.modules
    """)
    subprocess.check_call([sys.executable, "-c", code], env=dict(os.environ))
