"""The runner interface every backend implements."""

import json
import os


class BackendUnavailable(Exception):
    """The runtime this backend needs is not installed on the device."""


class UnsupportedPrecision(Exception):
    """The backend cannot run the requested precision here (e.g. fp16 on ONNX Runtime's CPU)."""


class Runner(object):
    """Load an artifact, then run inference on numpy inputs.

    ``activate`` does all one-time work (load, build, allocate); ``infer`` is what gets timed.
    Subclasses set ``name`` and implement ``_activate``, ``_infer``, and optionally ``_deactivate``.
    """

    name = "base"

    def __init__(self, artifact_dir, precision="fp32", batch=1, options=None):
        self.artifact_dir = artifact_dir
        self.precision = precision
        self.batch = batch
        self.options = options or {}
        self.manifest = read_manifest(artifact_dir)
        self.active = False
        #: facts the backend learned (provider list, engine built/cached, ...) for the report
        self.facts = {}

    def activate(self):
        if self.active:
            raise RuntimeError("runner already active")
        self._activate()
        self.active = True

    def infer(self, feed):
        """feed: {input name: numpy array}; returns a list of numpy arrays (outputs in order)."""
        if not self.active:
            raise RuntimeError("infer() before activate()")
        return self._infer(feed)

    def deactivate(self):
        if self.active:
            self._deactivate()
            self.active = False

    def _activate(self):
        raise NotImplementedError

    def _infer(self, feed):
        raise NotImplementedError

    def _deactivate(self):
        pass

    def artifact_path(self, fmt):
        """Path of the artifact file/dir the manifest lists for format ``fmt``."""
        formats = self.manifest.get("formats", {})
        if fmt not in formats:
            raise UnsupportedPrecision("the artifact has no {} form (it has: {})".format(
                fmt, ", ".join(sorted(formats)) or "nothing"))
        return os.path.join(self.artifact_dir, formats[fmt])


def read_manifest(artifact_dir):
    with open(os.path.join(artifact_dir, "manifest.json")) as fh:
        return json.load(fh)
