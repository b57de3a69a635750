"""The host-side build check (edgetrt/convert/trt_check.py) with the REAL TensorRT-RTX wheels:
the project's MobileNet v2 in all three forms, and a real ONNX model the parser rejects."""

import json
import sys

import pytest

from edgetrt.convert.trt_check import check_artifact
from edgetrt.errors import MissingDependencyError, UsageError

from ..agent.rtx_artifacts import artifact_with_all_forms, rtx_module  # noqa: TID252


@pytest.fixture(scope="module")
def rtx():
    return rtx_module()


@pytest.mark.slow
def test_mobilenet_v2_parses_and_builds_in_all_three_precisions(rtx, tmp_path):
    artifact = artifact_with_all_forms("mobilenet_v2", tmp_path)
    report = check_artifact(artifact, ("fp32", "fp16", "int8"))
    assert report["model"] == "mobilenet_v2"
    assert report["library"] == {"name": "tensorrt_rtx", "version": rtx.__version__,
                                 "module": "tensorrt_rtx_bindings"}
    assert "necessary, not sufficient" in report["note"]
    assert [c["format"] for c in report["checks"]] == ["onnx", "onnx_fp16", "onnx_int8"]
    for check in report["checks"]:
        assert check["parsed"] is True and check["built"] is True, check
        assert check["build_ms"] > 0 and check["engine_bytes"] > 100000 and check["errors"] == []
    json.dumps(report)  # the CLI prints it as JSON


def rejected_op_artifact(directory):
    """A valid ONNX model (onnx's checker passes it) whose one node is the standard operator
    Unique (opset 11+), which TensorRT's parser does not import."""
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("Unique", ["x"], ["y"], name="dedupe_node")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [-1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    directory.mkdir()
    onnx.save(model, str(directory / "model.onnx"))
    (directory / "manifest.json").write_text(json.dumps({
        "model": "unique-op", "formats": {"onnx": "model.onnx"},
        "inputs": [{"name": "x", "shape": [-1, 4], "dtype": "float32"}],
        "outputs": [{"name": "y", "shape": [-1, 4], "dtype": "float32"}]}))
    return directory


def test_a_model_the_parser_rejects_gives_its_own_messages(rtx, tmp_path):
    report = check_artifact(rejected_op_artifact(tmp_path / "art"), ("fp32", "fp16"))
    fp32, fp16 = report["checks"]
    assert fp32["parsed"] is False and fp32["built"] is None and fp32["build_ms"] is None
    # the parser's own message, naming the node and its operator
    assert any("dedupe_node" in e and "operator: Unique" in e for e in fp32["errors"]), fp32["errors"]
    # no FP16 form in this artifact: not parsed at all, and the error says which form is missing
    assert fp16["parsed"] is None and "onnx_fp16" in fp16["errors"][0]


def test_not_an_artifact_is_a_usage_error(rtx, tmp_path):
    with pytest.raises(UsageError, match="not an artifact directory"):
        check_artifact(tmp_path)


def test_without_the_wheels_the_error_says_how_to_install_them(tmp_path, monkeypatch):
    rejected_op_artifact(tmp_path / "art")
    for name in ("tensorrt_rtx", "tensorrt_rtx_bindings"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    with pytest.raises(MissingDependencyError) as info:
        check_artifact(tmp_path / "art")
    assert "TensorRT-RTX is not installed" in str(info.value)
    assert info.value.hint.startswith("pip install -e '.[trt-rtx]'")
