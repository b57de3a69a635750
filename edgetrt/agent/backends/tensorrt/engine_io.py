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
"""


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
        self._setup(engine, shapes)

    def _allocate(self, name, shape, trt_dtype):
        dtype = self.np.dtype(self.library.nptype(trt_dtype))
        host = self.cuda.pinned(shape, dtype)
        return _Buffer(name, host, self.cuda.alloc(host.nbytes))

    def infer(self, feed):
        if len(feed) == 1 and len(self.inputs) == 1:
            values = {self.inputs[0].name: list(feed.values())[0]}
        else:
            values = feed
        for buf in self.inputs:
            self.np.copyto(buf.host, values[buf.name], casting="same_kind")
            self.cuda.htod(buf.address, buf.host)
        if not self._execute():
            raise RuntimeError("TensorRT execution failed (the execution context returned False)")
        for buf in self.outputs:
            self.cuda.dtoh(buf.host, buf.address)
        self.cuda.synchronize()
        return [buf.host for buf in self.outputs]

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
