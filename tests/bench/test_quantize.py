"""INT8 QDQ quantization: real weights, real photos, ONNX Runtime; TensorRT's QDQ rules checked on the file.

The agreement figures compare the INT8 model with the FP32 ONNX model it came from, on the four
photos in tests/data/images. Calibration uses the same four photos (the default set), so this is
an in-sample check of the quantizer, not an accuracy figure for the model.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgetrt.convert.images import image_files, load_images
from edgetrt.errors import ConversionError, UsageError

REPO = Path(__file__).resolve().parents[2]
PHOTOS = REPO / "tests" / "data" / "images"
WEIGHTS = REPO / "tests" / "data" / "mobilenet_2_5_128_tf.h5"


def _session(path):
    """A CPU session whose INT8 arithmetic is exact on this CPU, as the agent's runner makes it."""
    import onnxruntime as ort

    from edgetrt.agent.backends.onnxrt_runner import exact_int8_options

    opts = ort.SessionOptions()
    exact_int8_options(opts)
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _agreement(fp32_path, int8_path, size, mode):
    files = image_files(PHOTOS)
    x = load_images(files, size, mode)
    ref = _session(fp32_path).run(None, {"input": x})[0]
    out = _session(int8_path).run(None, {"input": x})[0]
    top1 = sum(int(np.argmax(a) == np.argmax(b)) for a, b in zip(ref, out))
    overlap = [len(set(np.argsort(-a)[:5]) & set(np.argsort(-b)[:5])) for a, b in zip(ref, out)]
    return {"images": len(files), "top1": top1, "top5_overlap": overlap,
            "max_abs_diff": float(np.abs(ref - out).max())}


@pytest.fixture(scope="module")
def real_artifact(tmp_path_factory):
    if not WEIGHTS.is_file():
        pytest.skip(f"real MobileNet weights not found at {WEIGHTS}")
    from edgetrt.convert.pipeline import convert
    from edgetrt.convert.sources import resolve_source
    from edgetrt.zoo.weights import WeightsChoice

    result = convert(resolve_source("mobilenet_v1_0.25_128"), WeightsChoice.parse(str(WEIGHTS)),
                     out_dir=tmp_path_factory.mktemp("int8") / "mnv1", formats=("onnx", "onnx_int8"))
    return result.artifact


@pytest.mark.slow
def test_int8_agrees_with_fp32_on_real_photos(real_artifact):
    art = real_artifact
    figures = _agreement(art.path / "model.onnx", art.path / "model.int8.onnx", 128, "tf")
    print(f"\nINT8 (default calibration) vs FP32 on {figures['images']} photos: top-1 {figures['top1']}/4, "
          f"top-5 overlap {figures['top5_overlap']}, max |dp| {figures['max_abs_diff']:.3f}")
    assert figures["images"] == 4
    assert figures["top1"] >= 3, figures
    assert sum(figures["top5_overlap"]) >= 8, figures  # at least 2 of 5 shared per photo on average


@pytest.mark.slow
def test_manifest_records_the_quantization(real_artifact):
    from edgetrt.convert.quantize import DEFAULT_CALIBRATION_METHOD

    int8 = real_artifact.manifest["int8"]
    assert int8["method"] == "onnxruntime.quantize_static"
    assert int8["format"] == "QDQ"
    assert int8["calibration_images"] == len(image_files(PHOTOS))
    assert int8["calibration_method"] == DEFAULT_CALIBRATION_METHOD
    assert int8["per_channel"] is True
    assert int8["weights_kind"] == "file"
    assert int8["onnxruntime"]
    assert real_artifact.manifest["formats"]["onnx_int8"] == "model.int8.onnx"
    assert "model.int8.onnx" in {f["path"] for f in real_artifact.files}


@pytest.mark.slow
def test_int8_file_follows_tensorrt_qdq_rules(real_artifact):
    import onnx
    from onnx import numpy_helper

    from edgetrt.convert.quantize import check_tensorrt_qdq

    model = onnx.load(str(real_artifact.path / "model.int8.onnx"))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("QuantizeLinear") > 0 and ops.count("DequantizeLinear") > 0
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            zero_point = numpy_helper.to_array(inits[node.input[2]])
            assert zero_point.dtype == np.int8 and not zero_point.any(), node.name
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    producers = {o: n for n in model.graph.node for o in n.output}
    for conv in convs:  # both the activation and the weight reach each Conv through a DQ
        assert producers[conv.input[0]].op_type == "DequantizeLinear", conv.name
        assert producers[conv.input[1]].op_type == "DequantizeLinear", conv.name
    opset = {e.domain: e.version for e in model.opset_import}
    assert opset[""] >= 13
    assert {n.domain for n in model.graph.node} <= {""}
    assert check_tensorrt_qdq(model) == []


@pytest.mark.slow
@pytest.mark.parametrize("method", ["minmax", "percentile", "entropy"])
def test_calibration_methods_measured(real_artifact, tmp_path, method):
    """Prints the figures behind DEFAULT_CALIBRATION_METHOD; each method must keep top-1 on 3/4."""
    from edgetrt.convert.quantize import quantize_qdq

    out = tmp_path / f"int8-{method}.onnx"
    info = quantize_qdq(real_artifact.path / "model.onnx", out, None, "tf", "file", calibration_method=method)
    figures = _agreement(real_artifact.path / "model.onnx", out, 128, "tf")
    print(f"\n{method}: top-1 {figures['top1']}/4, top-5 overlap {figures['top5_overlap']} "
          f"(sum {sum(figures['top5_overlap'])}/20), max |dp| {figures['max_abs_diff']:.3f}")
    assert info["calibration_method"] == method
    assert figures["top1"] >= 3, figures


# Small models built with onnx.helper: the quantizer's checks, fast and without TensorFlow.

def _tiny_conv_model(path, shape=("N", 16, 16, 3), opset=13):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32), "w")
    bias = numpy_helper.from_array(rng.normal(0, 0.1, (4,)).astype(np.float32), "b")
    nodes = [helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2]),
             helper.make_node("Conv", ["nchw", "w", "b"], ["conv"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["conv"], ["relu"]),
             helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
             helper.make_node("Flatten", ["pool"], ["output"])]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)], [weight, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.save(model, str(path))
    return path


def test_tiny_model_quantizes_to_symmetric_qdq(tmp_path):
    import onnx

    from edgetrt.convert.quantize import check_tensorrt_qdq, quantize_qdq

    src = _tiny_conv_model(tmp_path / "tiny.onnx")
    out = tmp_path / "out" / "tiny.int8.onnx"
    info = quantize_qdq(src, out, PHOTOS, "tf", "random")
    assert out.is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["tiny.int8.onnx"]  # no temp leftovers
    assert info["calibration_images"] == 4 and info["weights_kind"] == "random" and info["opset"] == 13
    assert check_tensorrt_qdq(onnx.load(str(out))) == []
    x = load_images(image_files(PHOTOS), 16, "tf")
    ref, got = _session(src).run(None, {"input": x})[0], _session(out).run(None, {"input": x})[0]
    assert np.abs(ref - got).max() < 0.05 * np.abs(ref).max()


def test_check_flags_an_asymmetric_zero_point(tmp_path):
    from onnx import TensorProto, helper, numpy_helper

    from edgetrt.convert.quantize import check_tensorrt_qdq

    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="q0"),
             helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"], name="dq0")]
    inits = [numpy_helper.from_array(np.array(0.1, np.float32), "s"),
             numpy_helper.from_array(np.array(3, np.int8), "zp")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])], inits)
    problems = check_tensorrt_qdq(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    assert any("zero point is not 0" in p for p in problems), problems
    zero = numpy_helper.from_array(np.array(0, np.uint8), "zp")
    graph.initializer[1].CopyFrom(zero)
    problems = check_tensorrt_qdq(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 10)]))
    assert any("not INT8" in p for p in problems) and any("opset 10" in p for p in problems), problems


def test_old_opset_and_non_image_inputs_are_conversion_errors(tmp_path):
    from edgetrt.convert.quantize import quantize_qdq

    old = _tiny_conv_model(tmp_path / "old.onnx", opset=11)
    with pytest.raises(ConversionError, match="opset 11"):
        quantize_qdq(old, tmp_path / "o.onnx", PHOTOS, "tf", "random")
    flat = _tiny_conv_model(tmp_path / "flat.onnx", shape=("N", 16, 16, 7))
    with pytest.raises(ConversionError, match="channel axis"):
        quantize_qdq(flat, tmp_path / "f.onnx", PHOTOS, "tf", "random")
    assert not (tmp_path / "o.onnx").exists() and not (tmp_path / "f.onnx").exists()


def test_missing_calibration_images_is_a_usage_error(tmp_path):
    from edgetrt.convert.quantize import quantize_qdq

    src = _tiny_conv_model(tmp_path / "tiny.onnx")
    with pytest.raises(UsageError):
        quantize_qdq(src, tmp_path / "x.onnx", tmp_path / "nowhere", "tf", "random")


def test_default_calibration_set_is_the_repo_photos():
    from edgetrt.convert.quantize import default_calibration_dir

    assert default_calibration_dir() == PHOTOS


# -- ONNX Runtime's INT8 kernels on x86 CPUs without VNNI ------------------------------------------

CPUINFO = REPO / "tests" / "data" / "cpuinfo"
QEMU = shutil.which("qemu-x86_64")
# Runs the agent's ONNX Runtime runner on the INT8 model, reading the CPU flags from argv[2].
_RUN_INT8 = """
import sys, numpy as np
from edgetrt.agent.backends import onnxrt_runner
onnxrt_runner.CPUINFO = sys.argv[2]
runner = onnxrt_runner.OnnxRuntimeRunner(sys.argv[1], precision="int8",
                                         options={"providers": ["CPUExecutionProvider"]})
with runner:
    out = runner.infer({"input": np.load(sys.argv[3])})[0]
np.save(sys.argv[4], out)
print(runner.facts["int8_exact_kernels"])
"""


@pytest.mark.parametrize("name, machine, exact", [
    ("amd-epyc-zen4-vnni.txt", "x86_64", False),
    ("x86-avx2-no-vnni.txt", "x86_64", True),
    ("x86-avx2-no-vnni.txt", "aarch64", False),  # the option exists for x86 kernels only
])
def test_exact_int8_kernels_are_asked_for_where_the_cpu_lacks_vnni(name, machine, exact):
    from edgetrt.agent.backends.onnxrt_runner import int8_session_config

    config = int8_session_config(machine, (CPUINFO / name).read_text())
    assert config == ([("session.x64quantprecision", "1")] if exact else [])


def test_unreadable_cpu_flags_on_x86_get_the_exact_kernels(tmp_path, monkeypatch):
    from edgetrt.agent.backends import onnxrt_runner

    monkeypatch.setattr(onnxrt_runner, "CPUINFO", str(tmp_path / "missing"))
    assert onnxrt_runner.int8_session_config("x86_64") == [("session.x64quantprecision", "1")]


@pytest.fixture(scope="module")
def tiny_int8_artifact(tmp_path_factory):
    from edgetrt.convert.quantize import quantize_qdq

    art = tmp_path_factory.mktemp("tiny-int8")
    _tiny_conv_model(art / "model.onnx")
    quantize_qdq(art / "model.onnx", art / "model.int8.onnx", PHOTOS, "tf", "random")
    (art / "manifest.json").write_text(json.dumps(
        {"formats": {"onnx": "model.onnx", "onnx_int8": "model.int8.onnx"}}))
    x = load_images(image_files(PHOTOS), 16, "tf")
    np.save(art / "x.npy", x)
    return art, _session(art / "model.onnx").run(None, {"input": x})[0]


@pytest.mark.skipif(QEMU is None or platform.machine() != "x86_64",
                    reason="needs qemu-x86_64 (Debian's qemu-user) on an x86_64 machine")
@pytest.mark.parametrize("flags, exact", [("x86-avx2-no-vnni.txt", True), ("amd-epyc-zen4-vnni.txt", False)])
def test_int8_on_an_emulated_cpu_without_vnni_is_exact_only_with_the_exact_kernels(
        tiny_int8_artifact, tmp_path, flags, exact):
    """QEMU emulates an AMD EPYC Rome (AVX2, no VNNI), whose CPUID ONNX Runtime reads to pick its
    kernels; the runner reads the flags file given. With the true flags it asks for the exact
    kernels and agrees with FP32; told the CPU has VNNI, it does not, and the saturating kernels
    show (the CI machine, an EPYC without VNNI, measured max |d| 0.096 of 0.606 on this model)."""
    art, ref = tiny_int8_artifact
    out = tmp_path / "out.npy"
    proc = subprocess.run([QEMU, "-cpu", "EPYC-Rome", sys.executable, "-c", _RUN_INT8, str(art),
                           str(CPUINFO / flags), str(art / "x.npy"), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-1] == str(exact)
    error = float(np.abs(np.load(out) - ref).max())
    if exact:
        assert error < 0.05 * np.abs(ref).max(), error
    else:
        assert error > 0.1 * np.abs(ref).max(), error
