"""TensorFlow: the native SavedModel (`tf`), or a TF-TRT SavedModel made on the host (`tftrt`)."""

from .base import BackendUnavailable, Runner, UnsupportedPrecision


class TFRunner(Runner):
    name = "tf"

    def _format(self):
        if self.precision not in ("fp32", "native"):
            raise UnsupportedPrecision("native TensorFlow runs fp32; for fp16/int8 use the tftrt or "
                                       "tensorrt backend")
        return "savedmodel"

    def _activate(self):
        path = self.artifact_path(self._format())
        try:
            import tensorflow as tf
        except ImportError as exc:
            # Only a missing module means 'not installed'; a library that fails to load
            # (e.g. cannot map memory under a limit) must reach the classifier as is.
            if getattr(exc, "name", None) == "tensorflow" and "No module named" in str(exc):
                raise BackendUnavailable("TensorFlow is not installed on this device")
            raise
        self._tf = tf
        loaded = tf.saved_model.load(path)
        self._loaded = loaded  # keep the object alive: the signature references its variables
        try:
            self._fn = loaded.signatures["serving_default"]
        except KeyError:
            raise UnsupportedPrecision("the SavedModel at {} has no serving_default signature".format(path))
        _, kwargs = self._fn.structured_input_signature
        self._arg_names = sorted(kwargs)
        self._output_names = [o["name"] for o in self.manifest.get("outputs", [])]
        self.facts["tensorflow"] = tf.__version__

    def _infer(self, feed):
        tf = self._tf
        values = list(feed.values())
        if len(self._arg_names) == 1 and len(values) == 1:
            kwargs = {self._arg_names[0]: tf.constant(values[0])}
        else:
            kwargs = {k: tf.constant(v) for k, v in feed.items()}
        result = self._fn(**kwargs)
        names = [n for n in self._output_names if n in result] or sorted(result)
        return [result[n].numpy() for n in names]

    def _deactivate(self):
        self._fn = None
        self._loaded = None


class TFTRTRunner(TFRunner):
    """A TF-TRT SavedModel: TRTEngineOps build their engines at the first inference unless the
    host prebuilt them, so first_run_ms is where TF-TRT's build cost shows."""

    name = "tftrt"

    def _format(self):
        return "tftrt_" + self.precision

    def _activate(self):
        TFRunner._activate(self)
        if not _tensorflow_has_tensorrt(self._tf):
            # The SavedModel's TRTEngineOps cannot run without TF-TRT: say so rather than crash later.
            raise UnsupportedPrecision("this device's TensorFlow {} was built without TensorRT (no "
                                       "TRTEngineOp): use the tensorrt backend".format(self._tf.__version__))
        self.facts["tftrt"] = True


def _tensorflow_has_tensorrt(tf):
    build_info = getattr(tf.sysconfig, "get_build_info", None)  # TF >= 2.3
    if build_info is not None:
        return bool(build_info().get("is_tensorrt_build"))
    try:  # TF 1.x (JetPack's TF 1.15): the module exists only in TensorRT builds
        from tensorflow.python.compiler.tensorrt import trt_convert  # noqa: F401
    except ImportError:
        return False
    return True
