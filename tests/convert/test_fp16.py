"""The FP16 ONNX (edgetrt/convert/fp16.py) against the FP32 one, on real photos with real weights.

MobileNet v1 0.25/128 with the official mobilenet_2_5_128_tf.h5, converted by the project's own
pipeline; both models run in ONNX Runtime (CPU). The figures are printed; the bounds are what an
FP16 rounding of a classifier must keep.
"""

import sys

import numpy as np
import pytest

from edgetrt.convert.images import load_images
from edgetrt.convert.fp16 import make_fp16_onnx
from edgetrt.convert.pipeline import convert
from edgetrt.convert.sources import resolve_source
from edgetrt.errors import MissingDependencyError
from edgetrt.zoo.weights import WeightsChoice

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def models(real_data, tmp_path_factory):
    weights = WeightsChoice.parse(str(real_data / "mobilenet_2_5_128_tf.h5"))
    artifact = convert(resolve_source("mobilenet_v1_0.25_128"), weights, formats=("onnx",),
                       out_dir=tmp_path_factory.mktemp("fp16") / "mnv1").artifact
    fp32 = artifact.path / "model.onnx"
    fp16 = artifact.path / "model.fp16.onnx"
    info = make_fp16_onnx(fp32, fp16)
    return fp32, fp16, info, artifact.manifest["preprocessing"]["mode"]


def test_the_fp16_model_keeps_fp32_inputs_and_outputs_and_fp16_weights(models):
    import onnx

    _, fp16, info, _ = models
    assert info["io_types"] == {"input": "FLOAT", "probabilities": "FLOAT"}
    assert "FLOAT16" in info["initializer_types"]
    model = onnx.load(str(fp16))
    assert {t.data_type for t in model.graph.initializer} >= {onnx.TensorProto.FLOAT16}
    assert any(n.op_type == "Cast" for n in model.graph.node)  # FP32 <-> FP16 at the edges
    assert info["converter"].startswith("onnxconverter-common") and info["onnxconverter_common"]
    assert info["values_clamped"] >= 0 and len(info["converter_warnings"]) <= 5


def test_the_fp16_model_agrees_with_fp32_on_real_photos(models, real_data):
    import onnxruntime as ort

    fp32, fp16, _, mode = models
    files = sorted((real_data / "images").glob("*.jpg"))
    assert len(files) == 4
    images = load_images(files, 128, mode)
    runs = {}
    for name, path in (("fp32", fp32), ("fp16", fp16)):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        runs[name] = session.run(None, {"input": images})[0].astype(np.float64)
    a, b = runs["fp32"], runs["fp16"]
    top1 = int((a.argmax(1) == b.argmax(1)).sum())
    top5 = [len(set(np.argsort(-a[i])[:5]) & set(np.argsort(-b[i])[:5])) for i in range(len(files))]
    max_dp = float(np.abs(a - b).max())
    sys.stderr.write("fp16 vs fp32 on {} photos: top-1 agreement {}/{}, top-5 overlap {}/{}, "
                     "max |dp| {:.2e}\n".format(len(files), top1, len(files), sum(top5), 5 * len(files),
                                                max_dp))
    assert top1 == len(files)
    assert sum(top5) >= 4 * len(files)  # at most one of each photo's top five may swap
    assert max_dp < 0.03  # measured 1.3e-2 here (ONNX Runtime CPU, this machine)


def test_without_the_converter_the_error_says_how_to_install_it(models, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxconverter_common", None)
    fp32, _, _, _ = models
    with pytest.raises(MissingDependencyError) as info:
        make_fp16_onnx(fp32, tmp_path / "x.onnx")
    assert "onnxconverter_common" in str(info.value) and "edgetrt[tf]" in info.value.hint
