"""The TensorRT backend: build (or load a cached) engine on the device from the ONNX artifact, run it.

Modules, in the order a run meets them:

- ``path``: Python bindings + a CUDA library -> the Python path; else trtexec; else what to install;
- ``library``: which TensorRT this is (flavour, full version) and the table of how each version's
  API is spoken (7.x, 8.0-8.4 bindings, 8.5-10.x tensors, 11.x and TensorRT-RTX strongly typed);
- ``runner``: the Python path's runner; ``build``: its loaders (ONNX path -> network -> engine
  bytes -> engine -> context); ``retry``: the one build-retry policy (at most two builds a run);
- ``engine_cache``: built engines on the device, keyed by what made them;
- ``engine_io``: buffers and execution; ``cuda``: PyCUDA / cuda-python / ``cudart`` (ctypes);
- ``calibrator``: implicit INT8 (TensorRT 7 to 10);
- ``trtexec_runner`` and ``trtexec``: the path without the Python bindings.
"""
