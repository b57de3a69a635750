"""Native TensorFlow: load the SavedModel and call its serving signature."""

from .base import BackendUnavailable, Runner, UnsupportedPrecision


class TFRunner(Runner):
    name = "tf"

    def _activate(self):
        if self.precision not in ("fp32", "native"):
            # Native TF runs what the graph holds; a TF-TRT SavedModel carries its own precision.
            fmt = "tftrt_" + self.precision
        else:
            fmt = "savedmodel"
        path = self.artifact_path(fmt)
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
