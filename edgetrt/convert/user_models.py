"""The user's own TensorFlow models, each wrapped in the same serving module as zoo models."""

from __future__ import annotations

from edgetrt.convert.sources import ModelSource
from edgetrt.lazy import import_tensorflow
from edgetrt.errors import ModelFileError, UsageError


def _fixed_shape(shape, source: ModelSource):
    """Spatial dims must be known for TensorRT; --input-size fills NHWC unknowns."""
    dims = list(shape[1:])
    if any(d is None for d in dims):
        if source.input_size and len(dims) == 3:
            dims = [source.input_size if d is None else d for d in dims[:2]] + [dims[2] or 3]
        else:
            raise UsageError(f"{source.path}: input shape {list(shape)} has unknown dimensions",
                             hint="pass --input-size N for an NHWC image model")
    return tuple(int(d) for d in dims)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:240] or type(exc).__name__


def keras_file_module(source: ModelSource):
    from edgetrt.convert.tf_export import serving_module
    from edgetrt.zoo.weights import check_hdf5

    tf, keras = import_tensorflow()
    if source.path.suffix.lower() in (".h5", ".hdf5"):
        check_hdf5(source.path)
    try:
        model = keras.models.load_model(str(source.path), compile=False)
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"cannot load Keras model {source.path}: {_one_line(exc)}",
                             hint="a weights-only .h5 needs a zoo name and --weights PATH") from exc
    if len(model.inputs) != 1:
        raise UsageError(f"{source.path}: models with {len(model.inputs)} inputs are not supported yet")
    shape = _fixed_shape(tuple(model.inputs[0].shape), source)
    return serving_module(model, shape), shape


def savedmodel_module(source: ModelSource):
    tf, _ = import_tensorflow()
    try:
        loaded = tf.saved_model.load(str(source.path))
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"cannot load SavedModel {source.path}: {_one_line(exc)}") from exc
    signatures = getattr(loaded, "signatures", {})
    if "serving_default" not in signatures:
        raise ModelFileError(f"{source.path}: the SavedModel has no serving_default signature",
                             hint="export it with signatures={'serving_default': ...}")
    sig = signatures["serving_default"]
    specs = sig.structured_input_signature[1]
    if len(specs) != 1:
        raise UsageError(f"{source.path}: signatures with {len(specs)} inputs are not supported yet")
    (arg_name, spec), = specs.items()
    shape = _fixed_shape(tuple(spec.shape), source)
    input_signature = [tf.TensorSpec([None, *shape], spec.dtype, name=arg_name)]

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.loaded = loaded  # tracked, so re-saving keeps the variables

        @tf.function(input_signature=input_signature)
        def serve(self, x):
            return sig(**{arg_name: x})

    return Serving(), shape


def frozen_graph_module(source: ModelSource):
    tf, _ = import_tensorflow()
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(source.path.read_bytes())
    except Exception as exc:  # noqa: BLE001 - protobuf DecodeError
        raise ModelFileError(f"{source.path} is not a TensorFlow GraphDef (truncated or corrupt?)") from exc
    if not graph_def.node:
        raise ModelFileError(f"{source.path} holds an empty graph")
    names = {n.name for n in graph_def.node}
    for tensor in source.input_names + source.output_names:
        if tensor.split(":")[0] not in names:
            raise UsageError(f"{source.path}: no node named {tensor.split(':')[0]!r}",
                             hint="list node names with: python -c \"import tensorflow as tf; ...\"")
    if len(source.input_names) != 1:
        raise UsageError("frozen graphs with one input are supported (give exactly one --input)")

    def _import():
        tf.compat.v1.import_graph_def(graph_def, name="")

    wrapped = tf.compat.v1.wrap_function(_import, [])
    in_name = _tensor(source.input_names[0])
    out_names = [_tensor(n) for n in source.output_names]
    pruned = wrapped.prune(wrapped.graph.get_tensor_by_name(in_name),
                           [wrapped.graph.get_tensor_by_name(n) for n in out_names])
    in_tensor = wrapped.graph.get_tensor_by_name(in_name)
    shape = _fixed_shape(tuple(in_tensor.shape.as_list()), source)
    keys = [n.split(":")[0].replace("/", "_") for n in out_names]

    class Serving(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, *shape], in_tensor.dtype, name="input")])
        def serve(self, x):
            outputs = pruned(x)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            return dict(zip(keys, outputs))

    module = Serving()
    module._pruned = pruned  # keep the graph alive for saving
    return module, shape


def _tensor(name: str) -> str:
    return name if ":" in name else name + ":0"
