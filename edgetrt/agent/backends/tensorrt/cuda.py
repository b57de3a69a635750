"""Device memory for the TensorRT runner: PyCUDA or cuda-python where the device has one, else the
CUDA runtime library itself through ctypes (cudart.py), which every JetPack has.

Every session offers the same few calls: ``alloc``, ``pinned``, ``htod``, ``dtoh``,
``synchronize``, ``stream_handle``, ``compute_capability``, ``close``, and CUDA events on its stream
for GPU time (``event``, ``record``, ``elapsed_ms``, ``destroy_event``). The packages are imported only
inside the session that uses them.
"""

import importlib.util
import os
import sys

from ..base import BackendUnavailable
from . import cudart

KINDS = ("pycuda", "cuda-python", "cudart")
_MODULES = {"pycuda": "pycuda.driver", "cuda-python": "cuda"}


def _importable(module):
    top = module.split(".")[0]
    if top in sys.modules:  # already imported (find_spec refuses a module without a spec)
        return sys.modules[top] is not None
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError, AttributeError):
        return False


def available_cuda(options):
    """``{"kind", "detail"}`` for the CUDA library a session would use, or None.

    Nothing is imported or initialised: packages are looked up, libcudart is looked for on disk
    (``options["cudart"]`` names one; tests pass a double's path there)."""
    forced = options.get("cuda")
    for kind in ([forced] if forced else KINDS):
        if kind in _MODULES and _importable(_MODULES[kind]):
            return {"kind": kind, "detail": "python package {}".format(_MODULES[kind].split(".")[0])}
        if kind == "cudart":
            path = cudart.find_libcudart(options.get("cudart"))
            if path is None and not options.get("cudart"):
                path = cudart.loader_name()  # not on disk where we look, but the loader knows one
            if path and (path in cudart.LOADER_NAMES or os.path.isfile(path)):
                return {"kind": "cudart", "detail": path}
    return None


def open_cuda(options):
    """A CUDA session on device 0, of the kind ``available_cuda`` names."""
    found = available_cuda(options)
    if found is None:
        raise BackendUnavailable(
            "the tensorrt backend needs a CUDA library for device buffers: no PyCUDA, no "
            "cuda-python and no libcudart.so* (looked in {} and the Python path)".format(
                ", ".join(cudart.LIBRARY_DIRS)))
    if found["kind"] == "pycuda":
        return PyCudaSession()
    if found["kind"] == "cuda-python":
        return CudaPythonSession()
    return cudart.CudartSession(found["detail"])


class PyCudaSession(object):
    library = "pycuda"

    def __init__(self):
        import pycuda.driver as driver

        self._driver = driver
        driver.init()
        self._device = driver.Device(0)
        # A context of its own, made current: TensorRT's runtime calls then work in it.
        self._context = self._device.make_context()
        self.stream = driver.Stream()
        self.stream_handle = self.stream.handle
        self._allocations = []

    def compute_capability(self):
        major, minor = self._device.compute_capability()
        return "{}.{}".format(major, minor)

    def alloc(self, nbytes):
        """Device allocation of at least one byte; returns its address as an int."""
        block = self._driver.mem_alloc(max(1, int(nbytes)))
        self._allocations.append(block)
        return int(block)

    def pinned(self, shape, dtype):
        return self._driver.pagelocked_empty(tuple(shape), dtype)

    def htod(self, address, host_array):
        self._driver.memcpy_htod_async(address, host_array, self.stream)

    def dtoh(self, host_array, address):
        self._driver.memcpy_dtoh_async(host_array, address, self.stream)

    def synchronize(self):
        self.stream.synchronize()

    def event(self):
        return self._driver.Event()

    def record(self, event):
        event.record(self.stream)

    def elapsed_ms(self, start, end):
        end.synchronize()
        return end.time_since(start)

    def destroy_event(self, event):
        pass  # PyCUDA frees an event with its object

    def close(self):
        for block in self._allocations:
            block.free()
        self._allocations = []
        if self._context is not None:
            self._context.pop()
            self._context = None


class CudaPythonSession(object):
    library = "cuda-python"

    def __init__(self):
        try:
            from cuda.bindings import runtime as rt  # cuda-python 12.6+
        except ImportError:
            from cuda import cudart as rt
        self._rt = rt
        self.stream = None
        self._allocations = []
        self._check(rt.cudaSetDevice(0))
        self.stream = self._check(rt.cudaStreamCreate())
        self.stream_handle = int(self.stream)

    def _check(self, returned):
        err, rest = returned[0], returned[1:]
        if int(err) != 0:
            name = self._rt.cudaGetErrorName(err)[1]
            raise RuntimeError("CUDA error {}: {}".format(int(err), name.decode("utf-8", "replace")
                                                          if isinstance(name, bytes) else name))
        if not rest:
            return None
        return rest[0] if len(rest) == 1 else rest

    def compute_capability(self):
        attr = self._rt.cudaDeviceAttr
        major = self._check(self._rt.cudaDeviceGetAttribute(attr.cudaDevAttrComputeCapabilityMajor, 0))
        minor = self._check(self._rt.cudaDeviceGetAttribute(attr.cudaDevAttrComputeCapabilityMinor, 0))
        return "{}.{}".format(major, minor)

    def alloc(self, nbytes):
        address = int(self._check(self._rt.cudaMalloc(max(1, int(nbytes)))))
        self._allocations.append(address)
        return address

    def pinned(self, shape, dtype):
        import numpy as np

        return np.empty(tuple(shape), dtype=dtype)

    def htod(self, address, host_array):
        kind = self._rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._check(self._rt.cudaMemcpyAsync(address, host_array.ctypes.data, host_array.nbytes,
                                             kind, self.stream))

    def dtoh(self, host_array, address):
        kind = self._rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._check(self._rt.cudaMemcpyAsync(host_array.ctypes.data, address, host_array.nbytes,
                                             kind, self.stream))

    def synchronize(self):
        self._check(self._rt.cudaStreamSynchronize(self.stream))

    def event(self):
        return self._check(self._rt.cudaEventCreate())

    def record(self, event):
        self._check(self._rt.cudaEventRecord(event, self.stream))

    def elapsed_ms(self, start, end):
        self._check(self._rt.cudaEventSynchronize(end))
        return float(self._check(self._rt.cudaEventElapsedTime(start, end)))

    def destroy_event(self, event):
        self._rt.cudaEventDestroy(event)

    def close(self):
        for address in self._allocations:
            self._rt.cudaFree(address)
        self._allocations = []
        if self.stream is not None:
            self._rt.cudaStreamDestroy(self.stream)
            self.stream = None
