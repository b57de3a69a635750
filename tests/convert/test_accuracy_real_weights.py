"""Real pretrained weights and real photos: ONNX Runtime must agree with native TensorFlow.

Keras MobileNet v1 (width 0.25, 128×128) with the official mobilenet_2_5_128_tf.h5; the photos
and their expected classes come from tests/data/MANIFEST.tsv.
"""

import re

import numpy as np
import pytest

from edgetrt.convert.images import load_images
from edgetrt.convert.pipeline import convert
from edgetrt.convert.sources import resolve_source
from edgetrt.zoo.weights import WeightsChoice

from ..conftest import manifest_rows  # noqa: TID252

pytestmark = pytest.mark.slow


def expected_classes(data_dir):
    """{photo file: Keras class index} from the MANIFEST's expected_note column."""
    expected = {}
    for row in manifest_rows(data_dir / "MANIFEST.tsv"):
        if row["kind"].startswith("image_jpeg"):
            match = re.search(r"Keras idx (\d+)", row["expected_note"])
            assert match, row["file"]
            expected[row["file"]] = int(match.group(1))
    return expected


@pytest.fixture(scope="module")
def artifact(real_data, tmp_path_factory):
    source = resolve_source("mobilenet_v1_0.25_128")
    weights = WeightsChoice.parse(str(real_data / "mobilenet_2_5_128_tf.h5"))
    result = convert(source, weights, out_dir=tmp_path_factory.mktemp("art") / "mnv1")
    return result.artifact


def test_onnxruntime_top5_equals_tensorflow_and_contains_the_expected_class(artifact, real_data):
    import onnxruntime as ort
    import tensorflow as tf

    expected = expected_classes(real_data)
    assert len(expected) == 4
    files = [real_data / "images" / name for name in sorted(expected)]
    images = load_images(files, 128, artifact.manifest["preprocessing"]["mode"])
    assert artifact.manifest["weights"]["kind"] == "file"

    serve = tf.saved_model.load(str(artifact.path / "saved_model")).signatures["serving_default"]
    session = ort.InferenceSession(str(artifact.path / "model.onnx"), providers=["CPUExecutionProvider"])
    for i, path in enumerate(files):
        x = images[i:i + 1]
        tf_probs = serve(input=tf.constant(x))["probabilities"].numpy()[0]
        ort_probs = session.run(None, {"input": x})[0][0]
        tf_top5 = list(np.argsort(-tf_probs)[:5])
        ort_top5 = list(np.argsort(-ort_probs)[:5])
        assert ort_top5 == tf_top5, path.name
        assert expected[path.name] in tf_top5, (path.name, tf_top5)
        assert np.abs(tf_probs - ort_probs).max() < 1e-4


def test_artifact_manifest_lists_every_file_with_hash(artifact):
    from edgetrt.convert.artifacts import sha256_file

    files = {f["path"]: f for f in artifact.files}
    assert "model.onnx" in files and "saved_model/saved_model.pb" in files
    for rel, entry in files.items():
        assert sha256_file(artifact.path / rel) == entry["sha256"]
        assert (artifact.path / rel).stat().st_size == entry["bytes"]
    assert artifact.manifest["inputs"] == [{"name": "input", "shape": [-1, 128, 128, 3], "dtype": "float32"}]
    assert artifact.manifest["outputs"][0]["name"] == "probabilities"
    assert artifact.manifest["tools"]["tf2onnx"]
