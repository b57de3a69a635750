"""The model's side of the memory preflight: weights and activations of one graph at one batch.

From the ONNX artifact (``read_graph``): initializers give the weights; ``onnx.shape_inference``
with the batch dimension set gives every tensor's shape, and a liveness walk in graph order (a
tensor lives from the node that makes it to the last node that reads it) gives the peak of what is
alive at once, as a memory planner reuses buffers (TensorRT's execution context, ONNX Runtime's
memory pattern).

Where a zoo model has no ONNX artifact on this host yet, ``read_keras_graph`` gives the same
figures from the tf.keras.applications model's own layer shapes, so a preflight never has to
convert first (tf2onnx needs more than this host's 24 GB for VGG: see the README).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

@dataclass(frozen=True)
class GraphFacts:
    """What the estimate needs of one ONNX graph at one batch size."""

    path: str
    batch: int
    params: int                     # floating-point parameters (initializer elements)
    weight_bytes: int               # every initializer as stored in the file
    activation_peak_bytes: int      # liveness peak with the graph's own dtypes
    activation_peak_elements: int   # the same peak in elements (scaled by a precision)
    io_bytes: int                   # graph inputs and outputs at the batch
    tensors: int
    unknown_shapes: int             # tensors shape inference left without a size (not counted)


def read_graph(onnx_path: str | Path, batch: int) -> GraphFacts:
    """Weights, and activations at ``batch`` from ONNX shape inference, of one ONNX file."""
    from edgetrt.lazy import import_onnx

    onnx = import_onnx()
    model = onnx.load(str(onnx_path))
    graph = model.graph
    params = weight_bytes = 0
    for init in graph.initializer:
        count = math.prod(init.dims) if init.dims else 1
        dtype = onnx.helper.tensor_dtype_to_np_dtype(init.data_type)
        weight_bytes += count * dtype.itemsize
        if dtype.kind == "f":
            params += count
            # Shape inference needs shapes, not values: drop the float data (shape-giving
            # initializers of Reshape and friends are integers and stay).
            init.ClearField("raw_data")
            init.ClearField("float_data")
    initializer_names = {i.name for i in graph.initializer}
    for value in graph.input:
        if value.name in initializer_names:
            continue
        dims = value.type.tensor_type.shape.dim
        if dims and (not dims[0].HasField("dim_value") or dims[0].dim_value <= 0):
            dims[0].ClearField("dim_param")
            dims[0].dim_value = int(batch)
    inferred = onnx.shape_inference.infer_shapes(model)
    sizes, unknown = _tensor_sizes(onnx, inferred.graph)
    peak_bytes, peak_elements = _liveness_peak(inferred.graph, sizes, initializer_names)
    io = sum(sizes.get(v.name, (0, 0))[1] for v in list(inferred.graph.input) + list(inferred.graph.output)
             if v.name not in initializer_names)
    return GraphFacts(str(onnx_path), int(batch), params, weight_bytes, peak_bytes, peak_elements, io,
                      len(sizes), unknown)


def _tensor_sizes(onnx, graph) -> tuple[dict, int]:
    """{tensor name: (elements, bytes)} for every tensor with a known static shape; and how many
    tensors had none."""
    sizes, unknown = {}, 0
    for value in list(graph.input) + list(graph.value_info) + list(graph.output):
        tensor = value.type.tensor_type
        dims = tensor.shape.dim
        if not tensor.HasField("shape") or any(not d.HasField("dim_value") for d in dims):
            unknown += 1
            continue
        elements = math.prod(d.dim_value for d in dims) if dims else 1
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).itemsize
        sizes[value.name] = (elements, elements * itemsize)
    return sizes, unknown


# Element-wise activations a runtime fuses into the node before them (TensorRT's and ONNX Runtime's
# Conv+activation fusions) or runs in place: their output takes no buffer of its own when their
# input has no other reader.
IN_PLACE_OPS = frozenset(("Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
                          "Elu", "Selu", "Softplus", "Identity", "Dropout"))


def _liveness_peak(graph, sizes, initializers) -> tuple[int, int]:
    """The most bytes (and elements) alive at once walking the nodes in order: inputs live from
    the start, a node's outputs from that node, every buffer until the last reader of any tensor
    in it (graph outputs to the end); an IN_PLACE_OPS output shares its input's buffer."""
    readers, last_use = {}, {}
    for index, node in enumerate(graph.node):
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
            last_use[name] = index
    keep = {v.name for v in graph.output}
    buffer_of, buffers, ends = {}, {}, {}

    def end_of(name):
        return float("inf") if name in keep else last_use.get(name, -1)

    for value in graph.input:
        if value.name not in initializers and value.name in sizes:
            buffer_of[value.name] = value.name
            buffers[value.name] = sizes[value.name]
            ends[value.name] = end_of(value.name)
    live_bytes = sum(b for _, b in buffers.values())
    live_elements = sum(e for e, _ in buffers.values())
    peak_bytes, peak_elements = live_bytes, live_elements
    for index, node in enumerate(graph.node):
        source = node.input[0] if node.input else None
        for name in node.output:
            if name not in sizes or name in buffer_of:
                continue
            shared = buffer_of.get(source)
            if node.op_type in IN_PLACE_OPS and shared is not None and readers.get(source) == 1 \
                    and buffers[shared][1] >= sizes[name][1]:
                buffer_of[name] = shared
                ends[shared] = max(ends[shared], end_of(name))
                continue
            buffer_of[name] = name
            buffers[name] = sizes[name]
            ends[name] = end_of(name)
            live_bytes += sizes[name][1]
            live_elements += sizes[name][0]
        peak_bytes, peak_elements = max(peak_bytes, live_bytes), max(peak_elements, live_elements)
        for key in [k for k, end in ends.items() if end <= index]:
            elements, nbytes = buffers.pop(key)
            del ends[key]
            live_bytes -= nbytes
            live_elements -= elements
    return peak_bytes, peak_elements


def read_keras_graph(model, batch: int, source: str) -> GraphFacts:
    """The same figures from a Keras 3 functional model: its operations in topological order,
    each node's input and output tensors, float32 activations."""
    sizes, last_use, produced = {}, {}, []
    order = list(model.operations)

    def elements(tensor):
        dims = [batch if d is None else int(d) for d in tensor.shape]
        return math.prod(dims) if dims else 1

    for index, op in enumerate(order):
        for node in op._inbound_nodes[:1]:
            for tensor in node.input_tensors:
                last_use[id(tensor)] = index
                sizes.setdefault(id(tensor), elements(tensor))
            outs = [t for t in node.output_tensors]
            for tensor in outs:
                sizes.setdefault(id(tensor), elements(tensor))
            produced.append([id(t) for t in outs])
    outputs = {id(t) for t in model.outputs}
    alive, live, peak = set(), 0, 0
    for index, made in enumerate(produced):
        for key in made:
            if key not in alive:
                alive.add(key)
                live += sizes[key]
        peak = max(peak, live)
        for key in list(alive):
            if key not in outputs and last_use.get(key, -1) <= index:
                alive.discard(key)
                live -= sizes[key]
    weight_bytes = sum(math.prod(w.shape) * _itemsize(w.dtype) for w in model.weights)
    params = sum(math.prod(w.shape) for w in model.weights if "float" in str(w.dtype))
    io = sum(elements(t) * 4 for t in list(model.inputs) + list(model.outputs))
    return GraphFacts(source, int(batch), params, weight_bytes, peak * 4, peak, io, len(sizes), 0)


def _itemsize(dtype) -> int:
    text = str(dtype)
    for bits in (64, 32, 16, 8):
        if str(bits) in text:
            return bits // 8
    return 4


#: the host cache's part that keeps GraphFacts (edgetrt cache lists it)
CACHE_PART = "graphs"


class GraphCache:
    """``graphs(fmt, batch)`` for one artifact: each (format, batch) read once, and kept in the host
    cache (<cache>/graphs/) by what the figures are made from: the form's files by their SHA-256
    (from the artifact's manifest), the batch, onnx's version and this module's source. A later run
    on the same artifact (deploy's or bench's second run) reads them back instead of importing onnx
    and inferring every shape again."""

    def __init__(self, artifact):
        self.artifact = artifact
        self._cache: dict = {}

    def __call__(self, fmt: str, batch: int) -> GraphFacts:
        if not self.artifact.has_format(fmt):
            fmt = "onnx"
        key = (fmt, batch)
        if key not in self._cache:
            self._cache[key] = self._read(fmt, batch)
        return self._cache[key]

    def _read(self, fmt: str, batch: int) -> GraphFacts:
        import json

        from edgetrt.config import paths

        form = self.artifact.manifest["formats"][fmt]
        onnx_path = self.artifact.path / form
        name = _facts_key(self.artifact, form, batch)
        if name is None:
            return read_graph(onnx_path, batch)
        kept = paths.cache_home() / CACHE_PART / f"{name}.json"
        try:
            return GraphFacts(path=str(onnx_path), **json.loads(kept.read_text()))
        except (OSError, ValueError, TypeError):
            pass  # not kept yet, or unreadable: read the graph
        facts = read_graph(onnx_path, batch)
        fields = {k: v for k, v in facts.__dict__.items() if k != "path"}
        try:
            kept.parent.mkdir(parents=True, exist_ok=True)
            tmp = kept.with_name(f"{kept.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(fields, sort_keys=True))
            os.replace(tmp, kept)
        except OSError:
            pass  # a cache that cannot be written: read again next time
        return facts


def _facts_key(artifact, form: str, batch: int) -> str | None:
    """The name GraphFacts of ``form`` at ``batch`` are kept under; None when the manifest lists
    no files for the form (nothing to know it by)."""
    import hashlib
    import json

    from edgetrt.lazy import tool_versions

    files = [f["sha256"] for f in artifact.files if f["path"] == form or f["path"].startswith(form + "/")]
    if not files:
        return None
    material = {"files": files, "batch": int(batch), "onnx": tool_versions().get("onnx"),
                "reader": hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:32]
