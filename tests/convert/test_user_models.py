"""User model files made here with real TensorFlow: Keras file, SavedModel, frozen graph."""

import numpy as np
import pytest

from edgetrt.convert.pipeline import convert
from edgetrt.convert.sources import resolve_source
from edgetrt.zoo.weights import WeightsChoice

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_keras(tmp_path_factory):
    import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(x))
    path = tmp_path_factory.mktemp("user") / "tiny.keras"
    model.save(path)
    return model, path


def _check_onnx_matches(artifact, model):
    import onnxruntime as ort

    x = np.random.RandomState(0).rand(2, 32, 32, 3).astype("float32")
    session = ort.InferenceSession(str(artifact.path / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {artifact.manifest["inputs"][0]["name"]: x})[0]
    np.testing.assert_allclose(got, model(x).numpy(), atol=1e-5)


def test_keras_file(tiny_keras, tmp_path):
    model, path = tiny_keras
    art = convert(resolve_source(str(path)), WeightsChoice.parse("auto"), out_dir=tmp_path / "k").artifact
    assert set(art.manifest["formats"]) == {"savedmodel", "onnx"}
    assert art.manifest["inputs"][0]["shape"] == [-1, 32, 32, 3]
    _check_onnx_matches(art, model)


def test_savedmodel_directory(tiny_keras, tmp_path):
    import tensorflow as tf

    from edgetrt.convert.tf_export import save_savedmodel, serving_module

    model, _ = tiny_keras
    save_savedmodel(serving_module(model, (32, 32, 3)), tmp_path / "sm")
    art = convert(resolve_source(str(tmp_path / "sm")), WeightsChoice.parse("auto"), out_dir=tmp_path / "s").artifact
    _check_onnx_matches(art, model)
    assert tf.saved_model.load(str(art.path / "saved_model")).signatures["serving_default"]


def test_frozen_graph(tiny_keras, tmp_path):
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    model, _ = tiny_keras
    fn = tf.function(lambda x: model(x)).get_concrete_function(tf.TensorSpec([None, 32, 32, 3], tf.float32, name="images"))
    frozen = convert_variables_to_constants_v2(fn)
    graph_def = frozen.graph.as_graph_def()
    pb = tmp_path / "frozen.pb"
    pb.write_bytes(graph_def.SerializeToString())
    out_name = frozen.outputs[0].name
    source = resolve_source(str(pb), input_names=["images:0"], output_names=[out_name])
    art = convert(source, WeightsChoice.parse("auto"), out_dir=tmp_path / "f").artifact
    _check_onnx_matches(art, model)


def test_a_changed_savedmodel_directory_is_converted_again(tiny_keras, tmp_path, monkeypatch):
    from edgetrt.convert.tf_export import save_savedmodel, serving_module

    monkeypatch.setenv("EDGETRT_CACHE", str(tmp_path / "cache"))
    model, _ = tiny_keras
    save_savedmodel(serving_module(model, (32, 32, 3)), tmp_path / "sm")
    first = convert(resolve_source(str(tmp_path / "sm")), WeightsChoice.parse("auto"), formats=("onnx",))
    again = convert(resolve_source(str(tmp_path / "sm")), WeightsChoice.parse("auto"), formats=("onnx",))
    assert again.cached and again.artifact.path == first.artifact.path
    import keras

    retrained = keras.models.clone_model(model)  # same architecture, fresh weights
    save_savedmodel(serving_module(retrained, (32, 32, 3)), tmp_path / "sm")
    changed = convert(resolve_source(str(tmp_path / "sm")), WeightsChoice.parse("auto"), formats=("onnx",))
    assert not changed.cached and changed.artifact.path != first.artifact.path
