"""The agent's TensorRT backend against a REAL TensorRT library: TensorRT-RTX 1.7's Python wheels.

No double here. For fp32 (FP32 ONNX), fp16 (FP16 ONNX) and int8 (Q/DQ ONNX) of
mobilenet_v1_0.25_128 and mobilenet_v2 (random weights, converted by the project's converter),
a supervised agent run parses with TensorRT-RTX's ONNX parser, builds a serialized engine ahead of
time, serializes it into the engine cache, and then needs a GPU: this machine has none (its
libcudart has no driver), so the run ends as ``error`` with CUDA's own words and no Python
traceback, its cold start and facts saying how far it got. A second run finds the engine cached.
"""

import json
import os
import sys

import pytest

from edgetrt.agent.backends.tensorrt import cudart
from edgetrt.agent.supervise import run_supervised

from .rtx_artifacts import artifact_with_all_forms, rtx_module

pytestmark = pytest.mark.slow

MODELS = ("mobilenet_v1_0.25_128", "mobilenet_v2")
FORMS = {"fp32": "onnx", "fp16": "onnx_fp16", "int8": "onnx_int8"}
REAL_CUDART = cudart.find_libcudart()


@pytest.fixture(scope="module")
def rtx():
    return rtx_module()


@pytest.fixture(scope="module")
def artifacts(rtx, tmp_path_factory):
    directory = tmp_path_factory.mktemp("rtx-artifacts")
    return dict((model, artifact_with_all_forms(model, directory)) for model in MODELS)


def run(artifact, precision, engines, batch=1):
    spec = {"backend": "tensorrt", "precision": precision, "batch": batch, "artifact_dir": str(artifact),
            "options": {"engine_cache_dir": str(engines), "tensorrt_module": "tensorrt_rtx_bindings",
                        # the bindings are here; without a GPU the Python path is the one to check
                        "tensorrt_path": "python"}}
    return run_supervised([sys.executable, "-m", "edgetrt.agent"], spec, timeout_s=300)


def assert_ends_at_the_missing_gpu(result):
    assert result["status"] == "error", result["message"]
    text = result["message"] + "\n".join(result.get("stderr_tail") or [])
    assert "Traceback" not in text
    if REAL_CUDART:
        # CUDA's own name and words for a runtime without a driver
        assert "cudaErrorInsufficientDriver (35)" in result["message"] or "cudaErrorNoDevice" in result["message"]
    else:
        assert "needs a CUDA library" in result["message"]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_real_tensorrt_rtx_parses_builds_and_caches_then_needs_a_gpu(rtx, artifacts, tmp_path, model,
                                                                     precision):
    engines = tmp_path / "engines"
    first = run(artifacts[model], precision, engines)
    assert_ends_at_the_missing_gpu(first)
    facts, cold = first["facts"], first["cold_start"]
    assert facts["path"] == "python" and facts["builder"] == "python"
    assert facts["library"] == {"module": "tensorrt_rtx_bindings", "flavour": "tensorrt_rtx",
                                "version": rtx.__version__, "api": "TensorRT-RTX 1.x"}
    assert facts["artifact_format"] == FORMS[precision]
    assert facts["precision_from"].startswith("the model")
    assert cold["engine"] == "built" and cold["source"] == "tensorrt_rtx {} Python API".format(rtx.__version__)
    assert cold["parse_ms"] > 0 and cold["build_ms"] > 0 and cold["serialize_ms"] > 0
    assert cold["deserialize_ms"] is None  # never reached: no GPU
    engine_file = facts["engine_file"]
    assert os.path.getsize(engine_file) == facts["engine_bytes"] > 100000
    key = json.loads(open(engine_file[:-len(".engine")] + ".json").read())
    assert key["key"]["library"] == "tensorrt_rtx" and key["key"]["version"] == rtx.__version__
    assert key["key"]["precision"] == precision and key["built"]["attempt"] == 1
    assert not os.path.exists(os.path.join(str(engines), "timing"))  # no timing cache for RTX

    second = run(artifacts[model], precision, engines)
    assert_ends_at_the_missing_gpu(second)
    assert second["facts"]["engine"] == "cached" and second["cold_start"]["engine"] == "cached"
    assert second["cold_start"]["parse_ms"] is None and second["cold_start"]["cache_read_ms"] > 0
    assert second["facts"]["engine_file"] == engine_file


def test_a_batch_of_four_is_another_engine(rtx, artifacts, tmp_path):
    engines = tmp_path / "engines"
    one = run(artifacts["mobilenet_v1_0.25_128"], "fp16", engines, batch=1)
    four = run(artifacts["mobilenet_v1_0.25_128"], "fp16", engines, batch=4)
    assert one["facts"]["engine_file"] != four["facts"]["engine_file"]
    assert four["cold_start"]["engine"] == "built"
