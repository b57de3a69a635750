"""The runner contract every backend implements (Polygraphy's BaseRunner is the model).

A runner is a context manager: ``with RunnerClass(...) as runner:`` activates it (load, build,
allocate), ``runner.infer(feed)`` is what gets timed, and leaving the block deactivates it, also
when the block raised. The base class checks the rules (no infer before activate, no double
activation, deactivate always runs once); a subclass does the work in ``_activate``, ``_infer``,
``_deactivate``.

What a runner can do is declared on its class, never discovered with hasattr:

- ``needs_numpy``: inputs and outputs are numpy arrays (False for trtexec: it makes its own);
- ``measures_itself``: the runner's own tool times the inferences (trtexec); measure.py then calls
  ``run_benchmark(settings)`` instead of timing ``infer``;
- ``returns_outputs``: ``infer`` returns the model's outputs, so predictions can be made;
- ``can_profile``: ``profile(feed)`` returns per-layer times after the timed loop;
- ``times_parts``: between ``begin_timed`` and ``end_timed`` the runner times each inference's
  parts as trtexec defines them (H2D copy, GPU compute, D2H copy, enqueue) and can skip the
  copies (``no_transfers``).

Every hook is declared here with the base behaviour; measure.py calls only these.
"""

import json
import os


class BackendUnavailable(Exception):
    """The runtime this backend needs is not installed on the device."""


class UnsupportedPrecision(Exception):
    """The backend cannot run the requested precision here (e.g. fp16 on ONNX Runtime's CPU)."""


class RuntimeReported(Exception):
    """A runtime (TensorRT, CUDA, trtexec) said what went wrong: the message is its own words,
    so the run's report needs no Python traceback beside it."""


class Runner(object):
    """Load an artifact, run inference, unload. Subclasses set ``name`` and the capabilities."""

    name = "base"
    needs_numpy = True
    measures_itself = False
    returns_outputs = True
    can_profile = False
    times_parts = False
    #: set by begin_timed: whether this timed loop skips the copies (--no-transfers)
    no_transfers_applied = False

    def __init__(self, artifact_dir, precision="fp32", batch=1, options=None, report_phase=None):
        self.artifact_dir = artifact_dir
        self.precision = precision
        self.batch = batch
        self.options = options or {}
        self.manifest = read_manifest(artifact_dir) if artifact_dir else {}
        self.active = False
        #: facts the backend learned (provider list, engine built/cached, ...) for the report
        self.facts = {}
        # report_phase(name, **detail): where the run is, for a supervisor that outlives a kill
        self._report_phase = report_phase

    # -- the lifecycle -------------------------------------------------------------------

    def __enter__(self):
        self.activate()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.deactivate()
        return False

    def activate(self):
        if self.active:
            raise RuntimeError("runner already active")
        try:
            self._activate()
        except BaseException:
            # A half-done activation still holds what it allocated: release it, then raise.
            self._deactivate()
            raise
        self.active = True

    def infer(self, feed):
        """feed: {input name: numpy array}; returns a list of numpy arrays (outputs in order)."""
        if not self.active:
            raise RuntimeError("infer() before activate()")
        return self._infer(feed)

    def deactivate(self):
        if self.active:
            self.active = False
            self._deactivate()

    def _activate(self):
        raise NotImplementedError

    def _infer(self, feed):
        raise NotImplementedError

    def _deactivate(self):
        pass

    # -- hooks measure.py calls; each capability above says which apply ---------------------

    def input_specs(self):
        """[{"name", "shape", "dtype"}] of the inputs measure.py makes (the manifest's)."""
        return self.manifest.get("inputs", [])

    def run_benchmark(self, settings):
        """``measures_itself`` runners: the steady block measured by the runner's own tool."""
        raise NotImplementedError("{} is timed by measure.py".format(self.name))

    def profile(self, feed):
        """``can_profile`` runners: per-layer times ({"source", "layers", "nodes"})."""
        raise NotImplementedError("{} cannot profile".format(self.name))

    def begin_timed(self, feed, no_transfers=False):
        """Called after the warm-up with the timed loop's feed, before the loop. Returns why this
        runner times no parts (None for runners that do); ``no_transfers`` applies only where
        ``times_parts``."""
        self.no_transfers_applied = False
        why = "{} has no separate host-to-device copies or GPU time to measure".format(self.name)
        if no_transfers:
            why += " (--no-transfers does not apply to it)"
        return why

    def end_timed(self):
        """After the timed loop: {"h2d_ms", "gpu_compute_ms", "d2h_ms", "enqueue_ms": [ms per
        timed inference], "source", "definitions"} or None (``times_parts`` False)."""
        return None

    def cold_start(self):
        """Named start-up phases in ms measured during activate (None: this backend has none)."""
        return None

    def phase(self, name, **detail):
        """Tell the supervisor where the run is (e.g. "build" with its attempt and workspace)."""
        if self._report_phase is not None:
            self._report_phase(name, **detail)

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
