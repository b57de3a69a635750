"""CUDA through ctypes on the CUDA runtime library the device already has (libcudart.so.*).

Every Jetson has libcudart (JetPack installs it with CUDA; TensorRT itself needs it), while PyCUDA
and cuda-python are never there by default. Only calls whose C ABI has not changed from CUDA 10.2
to 13 are used: plain ints, size_t and pointers, no structs — the compute capability comes from
``cudaDeviceGetAttribute``, not from ``cudaDeviceProp``, whose layout changed between releases.
Errors carry CUDA's own name and text (``cudaGetErrorName`` / ``cudaGetErrorString``).

numpy is needed only for host buffers (``pinned``), and works from numpy 1.13 (JetPack 4's).
"""

import ctypes
import glob
import os
import sys

from ..base import RuntimeReported

# Where a CUDA runtime lives: JetPack / the CUDA toolkit, then pip's nvidia-*-runtime wheels.
LIBRARY_DIRS = ("/usr/local/cuda/lib64", "/usr/local/cuda/lib", "/usr/local/cuda-*/lib64",
                "/usr/local/cuda-*/lib", "/usr/local/cuda-*/targets/*/lib",
                "/usr/lib/aarch64-linux-gnu", "/usr/lib/x86_64-linux-gnu")
# Names the dynamic loader may know, newest first (the soname of CUDA 10.x is libcudart.so.10.x).
LOADER_NAMES = ("libcudart.so", "libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0",
                "libcudart.so.10.2")

# cudaDeviceAttr values (driver_types.h; unchanged since CUDA 5)
ATTR_COMPUTE_CAPABILITY_MAJOR = 75
ATTR_COMPUTE_CAPABILITY_MINOR = 76
ATTR_MULTIPROCESSOR_COUNT = 16
ATTR_INTEGRATED = 18
# cudaMemcpyKind
HOST_TO_DEVICE = 1
DEVICE_TO_HOST = 2

_P = ctypes.c_void_p
_INT_P = ctypes.POINTER(ctypes.c_int)
_SIZE_P = ctypes.POINTER(ctypes.c_size_t)
# name -> (restype, argtypes): the signatures from cuda_runtime_api.h, as old as CUDA 10.2.
_SIGNATURES = {
    "cudaGetErrorName": (ctypes.c_char_p, [ctypes.c_int]),
    "cudaGetErrorString": (ctypes.c_char_p, [ctypes.c_int]),
    "cudaRuntimeGetVersion": (ctypes.c_int, [_INT_P]),
    "cudaDriverGetVersion": (ctypes.c_int, [_INT_P]),
    "cudaGetDeviceCount": (ctypes.c_int, [_INT_P]),
    "cudaSetDevice": (ctypes.c_int, [ctypes.c_int]),
    "cudaDeviceGetAttribute": (ctypes.c_int, [_INT_P, ctypes.c_int, ctypes.c_int]),
    "cudaMemGetInfo": (ctypes.c_int, [_SIZE_P, _SIZE_P]),
    "cudaMalloc": (ctypes.c_int, [ctypes.POINTER(_P), ctypes.c_size_t]),
    "cudaFree": (ctypes.c_int, [_P]),
    "cudaMallocHost": (ctypes.c_int, [ctypes.POINTER(_P), ctypes.c_size_t]),
    "cudaFreeHost": (ctypes.c_int, [_P]),
    "cudaMemcpy": (ctypes.c_int, [_P, _P, ctypes.c_size_t, ctypes.c_int]),
    "cudaMemcpyAsync": (ctypes.c_int, [_P, _P, ctypes.c_size_t, ctypes.c_int, _P]),
    "cudaStreamCreate": (ctypes.c_int, [ctypes.POINTER(_P)]),
    "cudaStreamSynchronize": (ctypes.c_int, [_P]),
    "cudaStreamDestroy": (ctypes.c_int, [_P]),
    "cudaEventCreate": (ctypes.c_int, [ctypes.POINTER(_P)]),
    "cudaEventRecord": (ctypes.c_int, [_P, _P]),
    "cudaEventSynchronize": (ctypes.c_int, [_P]),
    "cudaEventElapsedTime": (ctypes.c_int, [ctypes.POINTER(ctypes.c_float), _P, _P]),
    "cudaEventDestroy": (ctypes.c_int, [_P]),
}


class CudaError(RuntimeReported, RuntimeError):
    """A CUDA runtime call failed; the message is CUDA's own name and description."""

    def __init__(self, call, code, name, text, library):
        RuntimeError.__init__(self, "CUDA {} failed: {} ({}): {} [{}]".format(
            call, name, code, text, library))
        self.call = call
        self.code = code
        self.name = name


def find_libcudart(explicit=None, root="/", search_path=None):
    """The libcudart file to load: ``explicit``, else the newest under LIBRARY_DIRS (read under
    ``root``), else one in a ``nvidia/*/lib`` directory of the Python path (pip's CUDA wheels);
    None when there is none on disk (the loader may still know one: see ``load``)."""
    if explicit:
        return explicit
    candidates = []
    for pattern in LIBRARY_DIRS:
        for directory in sorted(glob.glob(os.path.join(root, pattern.lstrip("/")))):
            candidates += sorted(glob.glob(os.path.join(directory, "libcudart.so*")), reverse=True)
    for entry in (sys.path if search_path is None else search_path):
        candidates += sorted(glob.glob(os.path.join(entry, "nvidia", "*", "lib", "libcudart.so*")),
                             reverse=True)
    real = [c for c in candidates if os.path.isfile(c) and not c.endswith((".a", ".py"))]
    return real[0] if real else None


def loader_name():
    """The first of LOADER_NAMES the dynamic loader can load (loading initialises nothing)."""
    for name in LOADER_NAMES:
        try:
            ctypes.CDLL(name)
            return name
        except OSError:
            continue
    return None


def load(explicit=None):
    """(ctypes library, its path or loader name). Raises OSError naming what was tried."""
    path = find_libcudart(explicit)
    tried = []
    for name in ([path] if path else []) + ([] if explicit else list(LOADER_NAMES)):
        try:
            return ctypes.CDLL(name), name
        except OSError as exc:
            tried.append("{} ({})".format(name, exc))
    raise OSError("no CUDA runtime library could be loaded; tried: {}".format("; ".join(tried)))


class CudartSession(object):
    """Device 0 through the CUDA runtime API: buffers, copies on one stream, events.

    The runtime API works in the device's primary context, the same one TensorRT uses.
    """

    library = "libcudart (ctypes)"

    def __init__(self, path=None):
        self._lib, self.path = load(path)
        for name, (restype, argtypes) in _SIGNATURES.items():
            function = getattr(self._lib, name)
            function.restype, function.argtypes = restype, argtypes
        self._allocations = []
        self._host = []
        self.stream = None
        self._check("cudaSetDevice", self._lib.cudaSetDevice(0))
        stream = _P()
        self._check("cudaStreamCreate", self._lib.cudaStreamCreate(ctypes.byref(stream)))
        self.stream = stream
        self.stream_handle = stream.value or 0

    def _check(self, call, code):
        if code != 0:
            raise CudaError(call, code, _text(self._lib.cudaGetErrorName(code)),
                            _text(self._lib.cudaGetErrorString(code)), self.path)

    def _int(self, call, *args):
        value = ctypes.c_int()
        self._check(call, getattr(self._lib, call)(ctypes.byref(value), *args))
        return value.value

    # -- facts -------------------------------------------------------------------------

    def compute_capability(self):
        return "{}.{}".format(self._int("cudaDeviceGetAttribute", ATTR_COMPUTE_CAPABILITY_MAJOR, 0),
                              self._int("cudaDeviceGetAttribute", ATTR_COMPUTE_CAPABILITY_MINOR, 0))

    def describe(self):
        free, total = ctypes.c_size_t(), ctypes.c_size_t()
        self._check("cudaMemGetInfo", self._lib.cudaMemGetInfo(ctypes.byref(free), ctypes.byref(total)))
        return {"library": self.path, "runtime_version": _version(self._int("cudaRuntimeGetVersion")),
                "driver_version": _version(self._int("cudaDriverGetVersion")),
                "devices": self._int("cudaGetDeviceCount"),
                "compute_capability": self.compute_capability(),
                "multiprocessors": self._int("cudaDeviceGetAttribute", ATTR_MULTIPROCESSOR_COUNT, 0),
                "integrated": bool(self._int("cudaDeviceGetAttribute", ATTR_INTEGRATED, 0)),
                "memory_free_bytes": free.value, "memory_total_bytes": total.value}

    # -- memory and copies ---------------------------------------------------------------

    def alloc(self, nbytes):
        """Device allocation of at least one byte; returns its address as an int."""
        pointer = _P()
        self._check("cudaMalloc", self._lib.cudaMalloc(ctypes.byref(pointer), max(1, int(nbytes))))
        self._allocations.append(pointer.value)
        return pointer.value

    def pinned(self, shape, dtype):
        """A numpy array in page-locked host memory (cudaMallocHost), freed by close()."""
        import numpy as np

        dtype = np.dtype(dtype)
        count = 1
        for d in shape:
            count *= int(d)
        nbytes = max(1, count * dtype.itemsize)
        pointer = _P()
        self._check("cudaMallocHost", self._lib.cudaMallocHost(ctypes.byref(pointer), nbytes))
        self._host.append(pointer.value)
        raw = (ctypes.c_char * nbytes).from_address(pointer.value)
        return np.frombuffer(raw, dtype=dtype, count=count).reshape(tuple(shape))

    def htod(self, address, host_array):
        self._check("cudaMemcpyAsync", self._lib.cudaMemcpyAsync(
            address, host_array.ctypes.data, host_array.nbytes, HOST_TO_DEVICE, self.stream))

    def dtoh(self, host_array, address):
        self._check("cudaMemcpyAsync", self._lib.cudaMemcpyAsync(
            host_array.ctypes.data, address, host_array.nbytes, DEVICE_TO_HOST, self.stream))

    def synchronize(self):
        self._check("cudaStreamSynchronize", self._lib.cudaStreamSynchronize(self.stream))

    # -- GPU time ------------------------------------------------------------------------

    def event(self):
        event = _P()
        self._check("cudaEventCreate", self._lib.cudaEventCreate(ctypes.byref(event)))
        return event

    def record(self, event):
        self._check("cudaEventRecord", self._lib.cudaEventRecord(event, self.stream))

    def elapsed_ms(self, start, end):
        """GPU time between two recorded events (waits for ``end``)."""
        self._check("cudaEventSynchronize", self._lib.cudaEventSynchronize(end))
        ms = ctypes.c_float()
        self._check("cudaEventElapsedTime", self._lib.cudaEventElapsedTime(ctypes.byref(ms), start, end))
        return ms.value

    def destroy_event(self, event):
        self._lib.cudaEventDestroy(event)

    def close(self):
        """Free what this session allocated; errors here are ignored (the run already ended)."""
        for address in self._allocations:
            self._lib.cudaFree(address)
        self._allocations = []
        for address in self._host:
            self._lib.cudaFreeHost(address)
        self._host = []
        if self.stream is not None:
            self._lib.cudaStreamDestroy(self.stream)
            self.stream = None


def _text(raw):
    return raw.decode("utf-8", "replace") if raw else "unknown"


def _version(number):
    """CUDA's 1000 * major + 10 * minor (e.g. 10020 -> "10.2"); "0" means no driver."""
    return "{}.{}".format(number // 1000, (number % 1000) // 10) if number else "none"
