"""Bad model inputs fail with ModelFileError/UsageError and leave no artifact directory behind."""

import pytest

from edgetrt.convert.pipeline import convert
from edgetrt.convert.sources import resolve_source
from edgetrt.errors import ModelFileError, UsageError
from edgetrt.zoo.weights import WeightsChoice

pytestmark = pytest.mark.slow


def _no_leftovers(parent):
    return [p.name for p in parent.iterdir()] == []


def test_weights_file_that_is_not_hdf5(tmp_path):
    fake = tmp_path / "weights.h5"
    fake.write_bytes(b"this is not HDF5" * 100)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ModelFileError, match="not an HDF5 file"):
        convert(resolve_source("mobilenet_v1_0.25_128"), WeightsChoice.parse(str(fake)),
                out_dir=out / "a")
    assert _no_leftovers(out)


def test_weights_for_another_architecture(tmp_path, real_data):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ModelFileError, match="does not fit mobilenet_v2"):
        convert(resolve_source("mobilenet_v2"), WeightsChoice.parse(str(real_data / "mobilenet_2_5_128_tf.h5")),
                out_dir=out / "a")
    assert _no_leftovers(out)


def test_truncated_onnx_file(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])])
    good = tmp_path / "good.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(good))
    data = good.read_bytes()
    bad = tmp_path / "cut.onnx"
    bad.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ModelFileError, match="not a valid ONNX model"):
        convert(resolve_source(str(bad)), WeightsChoice.parse("auto"), out_dir=out / "a")
    assert _no_leftovers(out)
    # the intact file converts, to an ONNX-only artifact
    art = convert(resolve_source(str(good)), WeightsChoice.parse("auto"), out_dir=out / "b").artifact
    assert set(art.manifest["formats"]) == {"onnx"}
    assert art.manifest["inputs"][0]["shape"] == [-1, 4]


def test_frozen_graph_needs_tensor_names(tmp_path):
    pb = tmp_path / "g.pb"
    pb.write_bytes(b"")
    with pytest.raises(UsageError, match="--input and --output"):
        resolve_source(str(pb))
