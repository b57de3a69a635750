"""Real TensorRT-RTX engines for the tests, built ahead of time on this machine (no GPU needed).

The TensorRT-RTX 1.7.1.116 wheels (module ``tensorrt_rtx_bindings``, part of the dev extra) parse
ONNX and serialize engines on a CPU-only machine for the compute capabilities asked for. The two
committed engines (tests/fixtures/engines R01, R02) were written with
``PYTHONPATH=. python tests/diagnose/rtx_engines.py tests/fixtures/engines``; the tests also build
fresh ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

RTX_MODULE = "tensorrt_rtx_bindings"
COMMITTED = {
    "R01_edgetrt_relu_rtx1.7.1.116_default_targets.engine": None,
    "R02_edgetrt_relu_rtx1.7.1.116_sm75.engine": ["SM75"],
}


def tiny_onnx_model() -> bytes:
    """A one-Relu ONNX model, opset 13: the smallest network every TensorRT parses."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def build_rtx_engine(targets: list[str] | None) -> bytes:
    """Serialize the tiny model with TensorRT-RTX for ``targets`` (e.g. ["SM86", "SM120"]); None: its defaults."""
    import importlib

    trt = importlib.import_module(RTX_MODULE)
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(tiny_onnx_model()):
        raise RuntimeError("; ".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
    config = builder.create_builder_config()
    if targets:
        config.num_compute_capabilities = len(targets)
        for index, target in enumerate(targets):
            config.set_compute_capability(getattr(trt.ComputeCapability, target), index)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError("TensorRT-RTX built no engine")
    return bytes(serialized)


if __name__ == "__main__":
    out = Path(sys.argv[1])
    for name, targets in COMMITTED.items():
        (out / name).write_bytes(build_rtx_engine(targets))
        print(out / name)
