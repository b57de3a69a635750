"""A runner that does nothing: it measures the harness's own per-iteration overhead."""

from .base import Runner


class NoopRunner(Runner):
    name = "noop"

    def input_specs(self):
        # The no-op model needs no artifact: one tiny input, so the loop has something to pass.
        return [{"name": "x", "shape": [-1, 1], "dtype": "float32"}]

    def _activate(self):
        pass

    def _infer(self, feed):
        return list(feed.values())
