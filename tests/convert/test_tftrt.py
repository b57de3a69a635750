"""TF-TRT: availability, converter arguments against TensorFlow's real signatures, TRTEngineOp counts.

TensorRT cannot run here (pip TensorFlow >= 2.18 has no TF-TRT): conversion itself is only checked
to fail with the right error. The counter runs on real GraphDefs and SavedModels made here, into
which TRTEngineOp NodeDefs are inserted (no TensorRT is needed to write a NodeDef).
"""

from __future__ import annotations

import inspect

import pytest

from edgetrt.convert import tftrt
from edgetrt.convert.tftrt import TftrtSettings
from edgetrt.errors import ConversionError, UsageError

tf = pytest.importorskip("tensorflow")

try:
    from tensorflow.python.compiler.tensorrt import trt_convert
except ImportError:  # some builds leave the module out entirely
    trt_convert = None

HAS_TENSORRT = bool(dict(tf.sysconfig.get_build_info()).get("is_tensorrt_build"))
PRECISIONS = ("fp32", "fp16", "int8")


# --- availability ------------------------------------------------------------------------------

@pytest.mark.skipif(HAS_TENSORRT, reason="this TensorFlow has TensorRT")
def test_this_tensorflow_says_plainly_it_has_no_tensorrt():
    ok, reason = tftrt.tftrt_available()
    assert not ok
    assert reason == f"this TensorFlow ({tf.__version__}) was built without TensorRT"


@pytest.mark.skipif(HAS_TENSORRT, reason="this TensorFlow has TensorRT")
def test_require_tftrt_names_both_ways_out():
    with pytest.raises(ConversionError) as info:
        tftrt.require_tftrt()
    assert str(info.value) == (f"this TensorFlow ({tf.__version__}) was built without TensorRT: "
                               "TF-TRT conversion is not possible here")
    assert "edgetrt deploy MODEL --device NAME --backend tensorrt" in info.value.hint
    assert "--container auto" in info.value.hint


def test_judge_tftrt_cases():
    assert tftrt.judge_tftrt("2.21.0", {"is_tensorrt_build": False}, None, None, None, None)[0] is False
    no_module = tftrt.judge_tftrt("1.15.0", None, "ImportError: no module", None, None, None)
    assert not no_module[0] and "no usable TF-TRT module" in no_module[1]
    unloadable = tftrt.judge_tftrt("2.15.0", {"is_tensorrt_build": True}, None, True, (8, 6, 1), (0, 0, 0))
    assert not unloadable[0] and "links TensorRT 8.6.1" in unloadable[1] and "cannot be loaded" in unloadable[1]
    ok, what = tftrt.judge_tftrt("2.15.0", {"is_tensorrt_build": True}, None, True, (8, 6, 1), (8, 6, 1))
    assert ok and "loaded 8.6.1" in what


@pytest.mark.skipif(trt_convert is None, reason="trt_convert is not importable in this TensorFlow")
def test_pywrap_utils_agree_with_build_info():
    """The two ways of asking (build info, the TF-TRT wrapper) must not disagree."""
    assert bool(trt_convert._pywrap_py_utils.is_tensorrt_enabled()) == HAS_TENSORRT


# --- settings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, needle", [
    ({"precision": "bf16"}, "unknown TF-TRT precision"),
    ({"min_segment_size": 0}, "--min-segment-size"),
    ({"workspace_bytes": 0}, "--workspace"),
    ({"batch": 0}, "--batch"),
])
def test_settings_refuse_bad_values(kwargs, needle):
    with pytest.raises(UsageError, match=needle):
        TftrtSettings(**kwargs)


# --- TrtGraphConverterV2 arguments -------------------------------------------------------------

def _v2_parameters():
    if trt_convert is None:
        return tftrt.RECORDED_V2_PARAMETERS
    return tftrt.parameters_of(trt_convert.TrtGraphConverterV2.__init__)


@pytest.mark.skipif(trt_convert is None, reason="trt_convert is not importable in this TensorFlow")
def test_recorded_parameter_names_match_the_installed_tensorflow():
    """If TF renames a parameter, the recorded fallback lists (used where TF-TRT is absent) are stale."""
    assert set(tftrt.parameters_of(trt_convert.TrtGraphConverterV2.__init__)) == set(tftrt.RECORDED_V2_PARAMETERS)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_v2_keyword_arguments_bind_to_the_real_signature(precision):
    settings = TftrtSettings(precision, min_segment_size=5, workspace_bytes=1 << 28)
    kwargs = tftrt.v2_converter_kwargs("/models/sm", settings, _v2_parameters())
    assert kwargs == {"input_saved_model_dir": "/models/sm", "precision_mode": precision.upper(),
                      "minimum_segment_size": 5, "use_calibration": precision == "int8",
                      "max_workspace_size_bytes": 1 << 28}
    if trt_convert is not None:
        inspect.signature(trt_convert.TrtGraphConverterV2.__init__).bind(None, **kwargs)
        assert kwargs["precision_mode"] in trt_convert.TrtPrecisionMode.supported_precision_modes()


def test_v2_leaves_the_workspace_to_tensorflow_unless_asked():
    kwargs = tftrt.v2_converter_kwargs("/m", TftrtSettings("fp16"), _v2_parameters())
    assert "max_workspace_size_bytes" not in kwargs


@pytest.mark.skipif(trt_convert is None, reason="trt_convert is not importable in this TensorFlow")
@pytest.mark.parametrize("precision", PRECISIONS)
def test_v2_conversion_params_style_uses_the_real_namedtuple(precision):
    """A TensorFlow whose V2 converter only takes conversion_params= gets DEFAULT_..._replace(...)."""
    old_style = ("input_saved_model_dir", "input_saved_model_tags", "input_saved_model_signature_key",
                 "conversion_params")
    kwargs = tftrt.v2_converter_kwargs("/m", TftrtSettings(precision, min_segment_size=7), old_style,
                                       trt_convert.DEFAULT_TRT_CONVERSION_PARAMS)
    params = kwargs["conversion_params"]
    assert isinstance(params, trt_convert.TrtConversionParams)
    assert (params.precision_mode, params.minimum_segment_size, params.use_calibration) == \
        (precision.upper(), 7, precision == "int8")
    assert params.max_workspace_size_bytes == trt_convert.DEFAULT_TRT_MAX_WORKSPACE_SIZE_BYTES
    trt_convert._check_conversion_params(params, is_v2=True)  # TensorFlow's own validation


def test_v2_conversion_params_with_is_dynamic_op_field_sets_it_true():
    """TF 2.0-2.1's TrtConversionParams still had is_dynamic_op/max_batch_size (a stand-in tuple here)."""
    import collections

    Params = collections.namedtuple("TrtConversionParams", [
        "rewriter_config_template", "max_workspace_size_bytes", "precision_mode", "minimum_segment_size",
        "is_dynamic_op", "maximum_cached_engines", "use_calibration", "max_batch_size"])
    default = Params(None, 1 << 30, "FP32", 3, False, 1, True, 1)
    params = tftrt.v2_converter_kwargs("/m", TftrtSettings("fp16"), ("input_saved_model_dir", "conversion_params"),
                                       default)["conversion_params"]
    assert params.is_dynamic_op is True and params.precision_mode == "FP16" and params.max_batch_size == 1


def test_v2_without_a_known_style_is_a_conversion_error():
    with pytest.raises(ConversionError, match="neither precision_mode= nor conversion_params="):
        tftrt.v2_converter_kwargs("/m", TftrtSettings(), ("input_saved_model_dir",))


# --- counting TRTEngineOps on real graphs --------------------------------------------------------

def _real_graph_def():
    """A real graph from a tf.function that calls another one (so the library is not empty)."""
    @tf.function
    def inner(x):
        return tf.nn.relu(tf.matmul(x, tf.ones([4, 4])) + 1.0)

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
    def outer(x):
        return inner(x) * 2.0

    return outer.get_concrete_function().graph.as_graph_def()


def _add_engine(nodes, name, segment=None):
    node = nodes.add()
    node.name, node.op = name, tftrt.TRT_ENGINE_OP
    if segment:
        node.attr["segment_func"].func.name = segment
    return node


def _add_segment_function(graph_def, name, n_nodes):
    func = graph_def.library.function.add()
    func.signature.name = name
    for i in range(n_nodes):
        node = func.node_def.add()
        node.name, node.op = f"seg_{i}", "Relu"
    return func


def test_count_on_a_real_graph_without_engines():
    graph_def = _real_graph_def()
    assert len(graph_def.library.function) >= 1
    counts = tftrt.count_trt_engine_ops(graph_def)
    assert counts["trt_engine_ops"] == 0 and counts["nodes_in_engines"] is None
    assert counts["nodes_total"] == len(graph_def.node) + sum(len(f.node_def) for f in graph_def.library.function)


def test_count_finds_engines_in_the_graph_and_in_its_function_library():
    graph_def = _real_graph_def()
    before = tftrt.count_trt_engine_ops(graph_def)["nodes_total"]
    _add_segment_function(graph_def, "TRTEngineOp_000_000_native_segment", 5)
    _add_engine(graph_def.node, "TRTEngineOp_000_000", segment="TRTEngineOp_000_000_native_segment")
    _add_engine(graph_def.library.function[0].node_def, "TRTEngineOp_001_000")  # no segment attr
    counts = tftrt.count_trt_engine_ops(graph_def)
    assert counts["trt_engine_ops"] == 2
    assert counts["trt_engine_ops_in_functions"] == 1
    assert counts["nodes_in_engines"] == 5
    assert counts["nodes_total"] == before + 5 + 2
    assert counts["engine_names"] == ["TRTEngineOp_000_000", "TRTEngineOp_001_000"]
    # The seed's own count, on the main graph only, sees just one of the two.
    assert len([1 for n in graph_def.node if str(n.op) == "TRTEngineOp"]) == 1


def test_count_reads_the_old_string_segment_attribute():
    graph_def = tf.compat.v1.GraphDef()
    _add_segment_function(graph_def, "my_trt_op_0_native_segment", 3)
    node = _add_engine(graph_def.node, "my_trt_op_0")
    node.attr["segment_funcdef_name"].s = b"my_trt_op_0_native_segment"
    assert tftrt.count_trt_engine_ops(graph_def)["nodes_in_engines"] == 3


def test_count_on_a_real_saved_model_and_frozen_pb(tmp_path):
    from tensorflow.core.protobuf import saved_model_pb2

    class Tiny(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(tf.ones([4, 2]))

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="input")])
        def serve(self, x):
            return {"out": tf.nn.relu(tf.matmul(x, self.w))}

    module = Tiny()
    saved = tmp_path / "saved_model"
    tf.saved_model.save(module, str(saved), signatures={"serving_default": module.serve})
    plain = tftrt.count_trt_engine_ops(saved)
    assert plain["trt_engine_ops"] == 0 and plain["nodes_total"] > 0

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((saved / "saved_model.pb").read_bytes())
    graph_def = proto.meta_graphs[0].graph_def
    assert len(graph_def.library.function) > 0  # a TF2 SavedModel keeps its graph in functions
    _add_segment_function(graph_def, "TRTEngineOp_000_000_native_segment", 4)
    _add_engine(graph_def.library.function[0].node_def, "TRTEngineOp_000_000",
                segment="TRTEngineOp_000_000_native_segment")
    _add_engine(graph_def.node, "TRTEngineOp_001_000")
    (saved / "saved_model.pb").write_bytes(proto.SerializeToString())
    counts = tftrt.count_trt_engine_ops(saved)
    assert (counts["trt_engine_ops"], counts["trt_engine_ops_in_functions"], counts["nodes_in_engines"]) == (2, 1, 4)
    assert counts["nodes_total"] == plain["nodes_total"] + 4 + 2

    frozen = tmp_path / "frozen.pb"
    frozen.write_bytes(graph_def.SerializeToString())
    assert tftrt.count_trt_engine_ops(frozen)["trt_engine_ops"] == 2


def test_count_on_a_file_that_is_not_a_graph(tmp_path):
    bogus = tmp_path / "x.pb"
    bogus.write_bytes(b"\xff\xff\xff not a protobuf")
    with pytest.raises(ConversionError, match="cannot read"):
        tftrt.count_trt_engine_ops(bogus)


# --- conversion, where TensorRT is absent -------------------------------------------------------

@pytest.mark.skipif(HAS_TENSORRT, reason="this TensorFlow has TensorRT")
def test_convert_tftrt_fails_before_writing_anything(tmp_path):
    out = tmp_path / "tftrt_fp16"
    with pytest.raises(ConversionError, match="built without TensorRT"):
        tftrt.convert_tftrt(tmp_path / "saved_model", out, TftrtSettings("fp16"))
    assert not out.exists()
