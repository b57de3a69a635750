"""TF-TRT: a SavedModel → a TensorFlow graph with TRTEngineOp segments.

Written against TensorFlow's own ``tensorflow.python.compiler.tensorrt.trt_convert``:
``TrtGraphConverterV2`` (keyword arguments since TF 2.4-ish, ``conversion_params=`` namedtuple
before). Which style a TensorFlow
takes is read from its real signature; the argument dictionaries are built by pure functions so
they can be checked where TensorRT cannot run. Pip TensorFlow >= 2.18 is built without TensorRT:
there :func:`require_tftrt` raises a ConversionError that names the two ways out.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

from edgetrt.errors import ConversionError, UsageError

PRECISION_MODES = {"fp32": "FP32", "fp16": "FP16", "int8": "INT8"}
DEFAULT_MIN_SEGMENT_SIZE = 3
TRT_ENGINE_OP = "TRTEngineOp"
# Attributes of a TRTEngineOp naming the function that holds its native (fallback) segment:
# `segment_func` (a func attr, TF >= 1.15) and `segment_funcdef_name` (a string, TF 1.13/1.14).
_SEGMENT_ATTRS = ("segment_func", "segment_funcdef_name")

# Parameter names of TF 2.21's trt_convert (inspect.signature), for when it is not importable.
RECORDED_V2_PARAMETERS = (
    "input_saved_model_dir", "input_saved_model_tags", "input_saved_model_signature_key",
    "use_dynamic_shape", "dynamic_shape_profile_strategy", "max_workspace_size_bytes",
    "precision_mode", "minimum_segment_size", "maximum_cached_engines", "use_calibration",
    "allow_build_at_runtime", "conversion_params")

WAYS_OUT = ("convert to ONNX and build the TensorRT engine on the device (edgetrt's default): "
            "`edgetrt deploy MODEL --device NAME --backend tensorrt`; or run TF-TRT in an NGC TensorFlow "
            "container: `edgetrt convert MODEL --to tftrt --container auto --device NAME` "
            "(add --dry-run to print the docker command)")


@dataclass(frozen=True)
class TftrtSettings:
    """What the user chose; the same for the V2 and the TF1 converter."""

    precision: str = "fp16"
    min_segment_size: int = DEFAULT_MIN_SEGMENT_SIZE
    workspace_bytes: int | None = None
    prebuild: bool = False
    batch: int = 1

    def __post_init__(self):
        if self.precision not in PRECISION_MODES:
            raise UsageError(f"unknown TF-TRT precision {self.precision!r}; use fp32, fp16 or int8")
        if self.min_segment_size < 1 and self.min_segment_size != -1:
            raise UsageError("--min-segment-size must be >= 1 (or -1 to convert nothing in the main graph)")
        if self.workspace_bytes is not None and self.workspace_bytes <= 0:
            raise UsageError("--workspace must be a positive number of bytes")
        if self.batch < 1:
            raise UsageError("--batch must be >= 1")

    @property
    def precision_mode(self) -> str:
        return PRECISION_MODES[self.precision]

    def to_dict(self) -> dict:
        return asdict(self)


# --- Is TF-TRT here? -------------------------------------------------------------------------

def judge_tftrt(tf_version: str, build_info: dict | None, module_error: str | None,
                enabled: bool | None, linked: tuple | None, loaded: tuple | None) -> tuple[bool, str]:
    """Pure verdict from what TensorFlow reports about itself."""
    if build_info is not None and build_info.get("is_tensorrt_build") is False:
        return False, f"this TensorFlow ({tf_version}) was built without TensorRT"
    if module_error:
        return False, f"this TensorFlow ({tf_version}) has no usable TF-TRT module ({module_error})"
    if enabled is False:
        return False, f"this TensorFlow ({tf_version}) was built without TensorRT"
    if not loaded or not any(loaded):
        linked_text = ".".join(map(str, linked)) if linked else "unknown"
        return False, (f"this TensorFlow ({tf_version}) links TensorRT {linked_text}, but the TensorRT "
                       "libraries (libnvinfer) cannot be loaded")
    return True, (f"TensorFlow {tf_version} with TF-TRT (TensorRT linked "
                  f"{'.'.join(map(str, linked or ()))}, loaded {'.'.join(map(str, loaded))})")


def tftrt_from_build_file() -> tuple[bool | None, str]:
    """What TensorFlow's own build_info.py says about TensorRT, read as text: no import (TensorFlow
    takes seconds to import). (None, why) when TensorFlow or the file is missing or unclear."""
    import importlib.util
    import re
    from importlib import metadata

    try:
        spec = importlib.util.find_spec("tensorflow")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None, "TensorFlow is not installed on this host"
    version = None
    for dist in ("tensorflow", "tensorflow-cpu"):
        try:
            version = metadata.version(dist)
            break
        except metadata.PackageNotFoundError:
            continue
    path = Path(list(spec.submodule_search_locations)[0]) / "python" / "platform" / "build_info.py"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None, f"TensorFlow {version}: no build_info.py to read"
    match = re.search(r"['\"]is_tensorrt_build['\"]\s*,\s*(True|False)", text)
    if not match:
        return None, f"TensorFlow {version}: its build_info.py does not say"
    if match.group(1) == "False":
        return False, f"this TensorFlow ({version}) was built without TensorRT"
    return True, f"TensorFlow {version} was built with TensorRT (libnvinfer not checked)"


def tftrt_available() -> tuple[bool, str]:
    """(True, what) when this TensorFlow can run TF-TRT; (False, why not) otherwise."""
    from edgetrt.lazy import import_tensorflow
    from edgetrt.errors import MissingDependencyError

    try:
        tf, _ = import_tensorflow()
    except MissingDependencyError as exc:
        return False, str(exc)
    try:
        build_info = dict(tf.sysconfig.get_build_info())
    except AttributeError:  # TF < 2.3 has no get_build_info
        build_info = None
    if build_info is not None and build_info.get("is_tensorrt_build") is False:
        return judge_tftrt(tf.__version__, build_info, None, None, None, None)
    module_error = enabled = linked = loaded = None
    try:
        from tensorflow.python.compiler.tensorrt import trt_convert

        utils = trt_convert._pywrap_py_utils
        enabled = bool(utils.is_tensorrt_enabled())
        if enabled:
            linked = tuple(utils.get_linked_tensorrt_version())
            loaded = tuple(utils.get_loaded_tensorrt_version())
    except Exception as exc:  # noqa: BLE001 - ImportError, a missing .so, an old layout: all "unusable"
        module_error = f"{type(exc).__name__}: {exc}"
    return judge_tftrt(tf.__version__, build_info, module_error, enabled, linked, loaded)


def require_tftrt():
    """The trt_convert module, or a ConversionError with the ways out."""
    ok, reason = tftrt_available()
    if not ok:
        raise ConversionError(f"{reason}: TF-TRT conversion is not possible here", hint=WAYS_OUT)
    from tensorflow.python.compiler.tensorrt import trt_convert

    return trt_convert


def parameters_of(callable_) -> tuple[str, ...]:
    return tuple(p for p in inspect.signature(callable_).parameters if p != "self")


# --- Argument construction (pure) ------------------------------------------------------------

def v2_converter_kwargs(saved_model_dir: str, settings: TftrtSettings, parameters: Iterable[str],
                        default_params=None) -> dict:
    """kwargs for TrtGraphConverterV2 in the style its signature takes.

    Newer TF: keyword arguments (precision_mode=..., max_workspace_size_bytes=...). Older TF
    (2.0-2.3): conversion_params=DEFAULT_TRT_CONVERSION_PARAMS._replace(...), with only the fields
    that namedtuple has (TF 2.0 still carried is_dynamic_op/max_batch_size there).
    """
    parameters = tuple(parameters)
    wanted = {"precision_mode": settings.precision_mode,
              "minimum_segment_size": settings.min_segment_size,
              "use_calibration": settings.precision == "int8"}
    if settings.workspace_bytes is not None:
        wanted["max_workspace_size_bytes"] = settings.workspace_bytes
    kwargs = {"input_saved_model_dir": str(saved_model_dir)}
    if "precision_mode" in parameters:
        kwargs.update(wanted)
        return kwargs
    if "conversion_params" not in parameters or default_params is None:
        raise ConversionError("this TensorFlow's TrtGraphConverterV2 takes neither precision_mode= nor "
                              f"conversion_params= (parameters: {', '.join(parameters)})")
    fields = getattr(default_params, "_fields", ())
    if "is_dynamic_op" in fields:
        wanted["is_dynamic_op"] = True  # TF2 builds engines at run time (or in build())
    kwargs["conversion_params"] = default_params._replace(**{k: v for k, v in wanted.items() if k in fields})
    return kwargs


def _segment_function_name(node) -> str | None:
    for attr in _SEGMENT_ATTRS:
        if attr in node.attr:
            value = node.attr[attr]
            name = value.func.name if value.HasField("func") else value.s.decode()
            if name:
                return name
    return None


def count_in_graph_def(graph_def) -> dict:
    """TRTEngineOps in a GraphDef's nodes and in its function library (pure, protobuf only)."""
    functions = {f.signature.name: f for f in graph_def.library.function}
    engines = [n for n in graph_def.node if n.op == TRT_ENGINE_OP]
    for func in functions.values():
        engines.extend(n for n in func.node_def if n.op == TRT_ENGINE_OP)
    segment_names = [_segment_function_name(n) for n in engines]
    found = [functions[name] for name in segment_names if name in functions]
    return {
        "trt_engine_ops": len(engines),
        "trt_engine_ops_in_functions": len(engines) - sum(1 for n in graph_def.node if n.op == TRT_ENGINE_OP),
        "nodes_total": len(graph_def.node) + sum(len(f.node_def) for f in functions.values()),
        "nodes_in_engines": sum(len(f.node_def) for f in found) if found else None,
        "engine_names": sorted(n.name for n in engines),
    }


def count_trt_engine_ops(source) -> dict:
    """Count TRTEngineOps in a GraphDef, a frozen .pb, or a SavedModel directory (all meta graphs)."""
    if hasattr(source, "node") and hasattr(source, "library"):
        return count_in_graph_def(source)
    path = Path(source)
    from edgetrt.lazy import import_tensorflow

    import_tensorflow()  # the protobuf classes ship with TensorFlow
    from google.protobuf.message import DecodeError
    from tensorflow.core.framework import graph_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    try:
        if path.is_dir():
            saved = saved_model_pb2.SavedModel()
            saved.ParseFromString((path / "saved_model.pb").read_bytes())
            graphs = [m.graph_def for m in saved.meta_graphs]
        else:
            graph = graph_pb2.GraphDef()
            graph.ParseFromString(path.read_bytes())
            graphs = [graph]
    except (OSError, DecodeError) as exc:
        raise ConversionError(f"cannot read {path} as a SavedModel or GraphDef: {exc}") from exc
    counts = [count_in_graph_def(g) for g in graphs]
    total = {"trt_engine_ops": 0, "trt_engine_ops_in_functions": 0, "nodes_total": 0,
             "nodes_in_engines": None, "engine_names": []}
    for c in counts:
        for key in ("trt_engine_ops", "trt_engine_ops_in_functions", "nodes_total"):
            total[key] += c[key]
        if c["nodes_in_engines"] is not None:
            total["nodes_in_engines"] = (total["nodes_in_engines"] or 0) + c["nodes_in_engines"]
        total["engine_names"] += c["engine_names"]
    return total


# --- Conversion (needs a TensorFlow built with TensorRT) ---------------------------------------

def _batches(images, batch: int):
    """Real images in batches of exactly `batch` (cycling), so every calibration input has one shape."""
    import numpy as np

    count = max(1, -(-len(images) // batch))
    for i in range(count):
        idx = [(i * batch + j) % len(images) for j in range(batch)]
        yield (np.asarray(images[idx], dtype=np.float32),)


def calibration_input_fn_from_images(images_dir: Path, input_size: int, preprocessing: str, batch: int) -> Callable:
    from edgetrt.convert.images import image_files, load_images

    images = load_images(image_files(images_dir), input_size, preprocessing)
    return lambda: _batches(images, batch)


def convert_tftrt(saved_model_dir: Path, out_dir: Path, settings: TftrtSettings, *,
                  calibration_input_fn: Callable | None = None, calibration_images: Path | None = None,
                  input_shape: tuple | None = None, preprocessing: str = "tf") -> dict:
    """TrtGraphConverterV2: convert (calibrating INT8 on real images), optionally build, save."""
    trt = require_tftrt()
    import numpy as np

    if settings.precision == "int8" and calibration_input_fn is None:
        if not calibration_images or not input_shape:
            raise UsageError("TF-TRT INT8 needs real calibration images: pass --calib-images DIR")
        calibration_input_fn = calibration_input_fn_from_images(calibration_images, input_shape[0],
                                                                preprocessing, settings.batch)
    parameters = parameters_of(trt.TrtGraphConverterV2.__init__)
    kwargs = v2_converter_kwargs(str(saved_model_dir), settings, parameters,
                                 getattr(trt, "DEFAULT_TRT_CONVERSION_PARAMS", None))
    try:
        converter = trt.TrtGraphConverterV2(**kwargs)
        if settings.precision == "int8":
            converter.convert(calibration_input_fn=calibration_input_fn)
        else:
            converter.convert()
        if settings.prebuild:
            if not input_shape:
                raise UsageError("--prebuild needs the model's input shape")
            shape = (settings.batch, *input_shape)
            converter.build(input_fn=lambda: iter([(np.random.default_rng(0).standard_normal(shape, np.float32),)]))
        converter.save(str(out_dir))
    except (UsageError, ConversionError):
        raise
    except Exception as exc:  # noqa: BLE001 - TF-TRT raises RuntimeError/ValueError/TF errors alike
        raise ConversionError(f"TF-TRT conversion ({settings.precision}) failed: {' '.join(str(exc).split())[:300]}",
                              hint="`edgetrt doctor log` on the full output names known TF-TRT failures") from exc
    return {"converter": "TrtGraphConverterV2",
            "api_style": "keywords" if "precision_mode" in parameters else "conversion_params",
            "settings": settings.to_dict(), "prebuilt": settings.prebuild,
            "available": tftrt_available()[1], **count_trt_engine_ops(out_dir)}
