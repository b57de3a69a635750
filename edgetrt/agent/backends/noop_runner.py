"""A runner that does nothing: it measures the harness's own per-iteration overhead."""

from .base import Runner


class NoopRunner(Runner):
    name = "noop"

    def __init__(self, artifact_dir=None, precision="fp32", batch=1, options=None):
        # The no-op model needs no artifact; skip reading a manifest.
        self.artifact_dir = artifact_dir
        self.precision = precision
        self.batch = batch
        self.options = options or {}
        self.manifest = {}
        self.active = False
        self.facts = {}

    def _activate(self):
        pass

    def _infer(self, feed):
        return list(feed.values())
