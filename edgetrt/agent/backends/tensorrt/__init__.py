"""The TensorRT backend: build (or load a cached) engine on the device from the ONNX artifact, run it.

Modules: ``runner`` (the runner and the choice of path), ``build`` (ONNX -> network -> engine
bytes), ``engine_io`` (buffers and execution), ``cuda`` (device memory), ``engine_cache``,
``calibrator`` (implicit INT8), ``trtexec`` (the path without the Python bindings).
"""
