"""Device memory for the TensorRT runner: PyCUDA or cuda-python, whichever the device has.

JetPack 4 (Python 3.6) ships neither; PyCUDA is the one that installs there (cuda-python needs
Python 3.8+). Both are imported only inside ``open_cuda``. The interface is the few calls the runner
needs: allocate, copy in, copy out, synchronise, compute capability.
"""

from ..base import BackendUnavailable


def open_cuda(prefer=None):
    """A CUDA session on device 0 (``prefer``: "pycuda" or "cuda-python" to pick one)."""
    order = [prefer] if prefer else ["pycuda", "cuda-python"]
    missing = []
    for name in order:
        try:
            if name == "pycuda":
                return PyCudaSession()
            if name == "cuda-python":
                return CudaPythonSession()
        except ImportError as exc:
            # Only a missing package means 'not installed'; a CUDA library that fails to load
            # must reach the classifier with its own words.
            if "No module named" not in str(exc):
                raise
            missing.append(name)
    raise BackendUnavailable(
        "the tensorrt backend needs PyCUDA or cuda-python for device buffers; neither is "
        "installed ({} missing). On JetPack 4 (Python 3.6): pip3 install pycuda".format(
            ", ".join(missing)))


class PyCudaSession(object):
    library = "pycuda"

    def __init__(self):
        import pycuda.driver as driver

        self._driver = driver
        driver.init()
        self._device = driver.Device(0)
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
            from cuda.bindings import runtime as cudart  # cuda-python 12.6+
        except ImportError:
            from cuda import cudart
        self._cudart = cudart
        self._check(cudart.cudaSetDevice(0))
        self.stream = self._check(cudart.cudaStreamCreate())
        self.stream_handle = int(self.stream)
        self._allocations = []

    def _check(self, returned):
        err, rest = returned[0], returned[1:]
        if int(err) != 0:
            name = self._cudart.cudaGetErrorName(err)[1]
            raise RuntimeError("CUDA error {}: {}".format(int(err), name.decode("utf-8", "replace")
                                                          if isinstance(name, bytes) else name))
        if not rest:
            return None
        return rest[0] if len(rest) == 1 else rest

    def compute_capability(self):
        props = self._check(self._cudart.cudaGetDeviceProperties(0))
        return "{}.{}".format(props.major, props.minor)

    def alloc(self, nbytes):
        address = int(self._check(self._cudart.cudaMalloc(max(1, int(nbytes)))))
        self._allocations.append(address)
        return address

    def pinned(self, shape, dtype):
        import numpy as np

        return np.empty(tuple(shape), dtype=dtype)

    def htod(self, address, host_array):
        kind = self._cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._check(self._cudart.cudaMemcpyAsync(address, host_array.ctypes.data, host_array.nbytes,
                                                 kind, self.stream))

    def dtoh(self, host_array, address):
        kind = self._cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._check(self._cudart.cudaMemcpyAsync(host_array.ctypes.data, address, host_array.nbytes,
                                                 kind, self.stream))

    def synchronize(self):
        self._check(self._cudart.cudaStreamSynchronize(self.stream))

    def close(self):
        for address in self._allocations:
            self._cudart.cudaFree(address)
        self._allocations = []
        if self.stream is not None:
            self._cudart.cudaStreamDestroy(self.stream)
            self.stream = None
