"""The TensorRT version layer's table (library.py): which API generation each library speaks and
what a run of each precision builds from."""

import pytest

from edgetrt.agent.backends import UnsupportedPrecision
from edgetrt.agent.backends.tensorrt.library import (UnsupportedTensorRT, choose_artifact, flavour_of,
                                                     generation_for)


@pytest.mark.parametrize("flavour,version,name", [
    ("tensorrt", "7.1.3.0", "TensorRT 7.x"),            # JetPack 4.4/4.5
    ("tensorrt", "8.0.1.6", "TensorRT 8.0-8.3"),        # JetPack 4.6
    ("tensorrt", "8.2.1.8", "TensorRT 8.0-8.3"),        # JetPack 4.6.1+ (Nano)
    ("tensorrt", "8.4.1.5", "TensorRT 8.4"),
    ("tensorrt", "8.5.2.2", "TensorRT 8.5-9.x"),        # JetPack 5.1
    ("tensorrt", "10.3.0.30", "TensorRT 10.x"),         # JetPack 6
    ("tensorrt", "10.13.3.9", "TensorRT 10.x"),         # JetPack 7
    ("tensorrt", "11.0.0.7", "TensorRT 11.x"),
    ("tensorrt_rtx", "1.7.1.116", "TensorRT-RTX 1.x"),
])
def test_each_release_has_one_api_generation(flavour, version, name):
    assert generation_for(flavour, version).name == name


def test_what_each_generation_does_differently():
    trt7, trt82, trt86 = (generation_for("tensorrt", v) for v in ("7.2.3", "8.2.1", "8.6.1"))
    trt10, trt11, rtx = generation_for("tensorrt", "10.3"), generation_for("tensorrt", "11.0"), \
        generation_for("tensorrt_rtx", "1.7.1")
    assert (trt7.build, trt7.timing_cache) == ("build_engine", False)
    assert (trt82.workspace, trt82.io) == ("max_workspace_size", "bindings")
    assert (trt86.workspace, trt86.io) == ("memory_pool", "tensors")
    assert [g.explicit_batch_flag for g in (trt7, trt82, trt86, trt10, trt11, rtx)] == \
        [True, True, True, False, False, False]
    assert [g.strongly_typed for g in (trt10, trt11, rtx)] == [False, True, True]
    assert rtx.runtime_config and not rtx.timing_cache and not rtx.engine_for_device
    assert not trt11.runtime_config and trt11.engine_for_device


def test_older_tensorrt_and_the_module_names():
    with pytest.raises(UnsupportedTensorRT, match="tensorrt 6.0.1"):
        generation_for("tensorrt", "6.0.1")
    assert flavour_of("tensorrt") == "tensorrt"
    assert flavour_of("tensorrt_rtx") == flavour_of("tensorrt_rtx_bindings") == "tensorrt_rtx"


FORMATS = {"onnx": "model.onnx", "onnx_int8": "model.int8.onnx", "onnx_fp16": "model.fp16.onnx"}


@pytest.mark.parametrize("version,precision,expected", [
    ("8.2.1", "fp32", ("onnx", None)),
    ("8.2.1", "fp16", ("onnx", None)),               # BuilderFlag.FP16 on the FP32 ONNX
    ("8.2.1", "int8", ("onnx_int8", "explicit")),
    ("11.0", "fp16", ("onnx_fp16", None)),           # strongly typed: the FP16 model
    ("11.0", "int8", ("onnx_int8", "explicit")),
])
def test_the_artifact_form_each_precision_builds_from(version, precision, expected):
    assert choose_artifact(generation_for("tensorrt", version), version, precision, FORMATS, False) == expected


def test_implicit_int8_only_where_calibrators_exist():
    only_fp32 = {"onnx": "model.onnx"}
    assert choose_artifact(generation_for("tensorrt", "8.2.1"), "8.2.1", "int8", only_fp32, True) == \
        ("onnx", "calibrate")
    with pytest.raises(UnsupportedPrecision, match="strongly typed"):
        choose_artifact(generation_for("tensorrt", "11.0"), "11.0", "int8", only_fp32, True)
    with pytest.raises(UnsupportedPrecision, match="unknown precision"):
        choose_artifact(generation_for("tensorrt", "8.2.1"), "8.2.1", "bf16", FORMATS, False)
