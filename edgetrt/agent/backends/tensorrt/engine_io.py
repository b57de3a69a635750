"""Run a deserialized TensorRT engine: device buffers, shapes, one synchronous inference.

Two API generations; which one a TensorRT speaks is library.TensorRTLibrary's ``api.io``:

- ``TensorIO`` (TensorRT 8.5+, the only one in 10): tensors by name (``num_io_tensors``,
  ``get_tensor_name``, ``get_tensor_mode``), ``set_input_shape``, ``set_tensor_address`` and
  ``execute_async_v3(stream)``. 8.5/8.6 still have the binding API, deprecated; we use the new one
  there too, as Polygraphy does.
- ``BindingsIO`` (TensorRT 7 to 8.4): binding indices, ``set_binding_shape`` and
  ``execute_async_v2(bindings, stream)``.

``infer`` copies inputs host->device from pinned buffers, executes, copies outputs back and
synchronises; it returns the pinned output arrays (overwritten by the next ``infer``, and freed
when the runner deactivates: copy them to keep them).

Between ``start_parts`` and ``stop_parts`` each inference is also split as trtexec splits a query
(TensorRT Developer Guide, trtexec): CUDA events on the stream before the input copies, before
the execution, after it and after the output copies give H2D latency, GPU compute time and D2H
latency; the host time of the execute call itself is the enqueue time. With ``no_transfers``
(trtexec's --noDataTransfers) the inputs are copied once before the loop and no copy is timed.
"""

import time

PART_DEFINITIONS = {
    "h2d_ms": "H2D latency: CUDA events around the input copies (cudaMemcpyAsync host to device)",
    "gpu_compute_ms": "GPU compute time: CUDA events around the execute call on the stream",
    "d2h_ms": "D2H latency: CUDA events around the output copies",
    "enqueue_ms": "enqueue time: host time of the execute call (execute_async_v2/v3)",
}


def engine_io(library, engine, context, cuda, shapes, np):
    """The I/O helper for this TensorRT; ``shapes``: {input name: shape to run with}."""
    if library.api.io == "tensors":
        return TensorIO(library, engine, context, cuda, shapes, np)
    return BindingsIO(library, engine, context, cuda, shapes, np)


class _Buffer(object):
    def __init__(self, name, host, address):
        self.name = name
        self.host = host
        self.address = address


def _input_shape(name, engine_shape, shapes):
    if name in shapes:
        return tuple(int(d) for d in shapes[name])
    if any(d < 0 for d in engine_shape):
        raise ValueError("engine input {!r} is dynamic and no shape was given for it".format(name))
    return tuple(engine_shape)


class _IO(object):
    api = None

    def __init__(self, library, engine, context, cuda, shapes, np):
        self.library = library
        self.trt = library.trt
        self.context = context
        self.cuda = cuda
        self.np = np
        self.inputs = []
        self.outputs = []
        self._parts = None      # per-part lists in ms while timing parts
        self._events = None
        self._no_transfers = False
        self._setup(engine, shapes)

    def _allocate(self, name, shape, trt_dtype):
        dtype = self.np.dtype(self.library.nptype(trt_dtype))
        host = self.cuda.pinned(shape, dtype)
        return _Buffer(name, host, self.cuda.alloc(host.nbytes))

    def _values(self, feed):
        if len(feed) == 1 and len(self.inputs) == 1:
            return {self.inputs[0].name: list(feed.values())[0]}
        return feed

    def _run(self):
        if not self._execute():
            raise RuntimeError("TensorRT execution failed (the execution context returned False)")

    def infer(self, feed):
        if self._parts is not None:
            return self._infer_parts(feed)
        values = self._values(feed)
        for buf in self.inputs:
            self.np.copyto(buf.host, values[buf.name], casting="same_kind")
            self.cuda.htod(buf.address, buf.host)
        self._run()
        for buf in self.outputs:
            self.cuda.dtoh(buf.host, buf.address)
        self.cuda.synchronize()
        return [buf.host for buf in self.outputs]

    def start_parts(self, feed, no_transfers=False):
        cuda = self.cuda
        self._events = [cuda.event() for _ in range(4)]
        self._parts = {"h2d_ms": [], "gpu_compute_ms": [], "d2h_ms": [], "enqueue_ms": []}
        self._no_transfers = no_transfers
        if no_transfers:  # the inputs stay on the device from here on
            values = self._values(feed)
            for buf in self.inputs:
                self.np.copyto(buf.host, values[buf.name], casting="same_kind")
                cuda.htod(buf.address, buf.host)
            cuda.synchronize()

    def _infer_parts(self, feed):
        cuda, events, parts = self.cuda, self._events, self._parts
        if not self._no_transfers:
            values = self._values(feed)
            for buf in self.inputs:
                self.np.copyto(buf.host, values[buf.name], casting="same_kind")
        cuda.record(events[0])
        if not self._no_transfers:
            for buf in self.inputs:
                cuda.htod(buf.address, buf.host)
        cuda.record(events[1])
        t0 = time.perf_counter()
        self._run()
        parts["enqueue_ms"].append((time.perf_counter() - t0) * 1e3)
        cuda.record(events[2])
        if not self._no_transfers:
            for buf in self.outputs:
                cuda.dtoh(buf.host, buf.address)
        cuda.record(events[3])
        cuda.synchronize()
        parts["gpu_compute_ms"].append(cuda.elapsed_ms(events[1], events[2]))
        if not self._no_transfers:
            parts["h2d_ms"].append(cuda.elapsed_ms(events[0], events[1]))
            parts["d2h_ms"].append(cuda.elapsed_ms(events[2], events[3]))
        return [buf.host for buf in self.outputs]

    def stop_parts(self):
        """The per-part times of every inference since start_parts; the events freed."""
        parts, self._parts = self._parts, None
        for event in self._events or ():
            self.cuda.destroy_event(event)
        self._events = None
        if parts is None:
            return None
        parts["source"] = "CUDA events on the inference stream ({})".format(self.cuda.library)
        parts["definitions"] = dict(PART_DEFINITIONS)
        if self._no_transfers:
            for key in ("h2d_ms", "d2h_ms"):
                parts["why_" + key] = "not measured: --no-transfers (no copies in the timed loop)"
        return parts

    def describe(self):
        return {"api": self.api,
                "inputs": {b.name: list(b.host.shape) for b in self.inputs},
                "outputs": {b.name: list(b.host.shape) for b in self.outputs}}


class TensorIO(_IO):
    api = "tensors (execute_async_v3)"

    def _setup(self, engine, shapes):
        trt, context = self.trt, self.context
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        is_input = dict((n, engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT) for n in names)
        for name in names:
            if is_input[name]:
                shape = _input_shape(name, tuple(engine.get_tensor_shape(name)), shapes)
                context.set_input_shape(name, shape)
                buf = self._allocate(name, shape, engine.get_tensor_dtype(name))
                self.inputs.append(buf)
                context.set_tensor_address(name, buf.address)
        for name in names:
            if not is_input[name]:
                shape = tuple(context.get_tensor_shape(name))
                buf = self._allocate(name, shape, engine.get_tensor_dtype(name))
                self.outputs.append(buf)
                context.set_tensor_address(name, buf.address)

    def _execute(self):
        return self.context.execute_async_v3(self.cuda.stream_handle)


class BindingsIO(_IO):
    api = "bindings (execute_async_v2)"

    def _setup(self, engine, shapes):
        context = self.context
        count = engine.num_bindings
        self.bindings = [0] * count
        indices = list(range(count))
        for i in indices:
            if engine.binding_is_input(i):
                name = engine.get_binding_name(i)
                engine_shape = tuple(engine.get_binding_shape(i))
                shape = _input_shape(name, engine_shape, shapes)
                if any(d < 0 for d in engine_shape):
                    context.set_binding_shape(i, shape)
                buf = self._allocate(name, shape, engine.get_binding_dtype(i))
                self.inputs.append(buf)
                self.bindings[i] = buf.address
        for i in indices:
            if not engine.binding_is_input(i):
                shape = tuple(context.get_binding_shape(i))
                buf = self._allocate(engine.get_binding_name(i), shape, engine.get_binding_dtype(i))
                self.outputs.append(buf)
                self.bindings[i] = buf.address

    def _execute(self):
        return self.context.execute_async_v2(self.bindings, self.cuda.stream_handle)
