"""TensorRT through trtexec: the path for a device without the TensorRT Python bindings or a CUDA
library for them (a stock JetPack has trtexec at /usr/src/tensorrt/bin/trtexec).

trtexec builds the engine (cached like the Python path's) and measures it; every figure in the
steady block and the cold start is trtexec's own, marked ``"source": "trtexec"``. No numpy: the
runner never touches a tensor.

Options beyond runner.py's (``shared_engines`` and ``shared_timing_cache`` as there): ``trtexec``
(its path; default JetPack's, then PATH) and, from the host's probe, ``tensorrt_version`` and
``compute_capability`` (for the cache key: trtexec is run only to build and measure, so nothing
else tells the agent which TensorRT and GPU it used).
"""

import os
import time

from . import engine_cache
from .library import choose_artifact, generation_for, precision_source, version_tuple
from .retry import build_with_retry
from .runner import input_shapes, reuse, workspace_bytes
from .trtexec import (TrtexecFailed, benchmark_command, build_command, first_query_ms, header_version,
                      run_trtexec, steady_from_summary)
from ..base import Runner

#: the API generation assumed for trtexec of an unknown version: flags every trtexec takes
_UNKNOWN_VERSION_API = "8.2"


class TrtexecRunner(Runner):
    name = "tensorrt"
    needs_numpy = False
    measures_itself = True
    returns_outputs = False
    can_profile = True  # its --dumpProfile table, from a separate profiling run

    def __init__(self, artifact_dir, precision="fp32", batch=1, options=None, report_phase=None):
        Runner.__init__(self, artifact_dir, precision, batch, options, report_phase)
        self.trtexec = self.options.get("trtexec")
        self._layers = None
        self._cold = {"source": "trtexec", "engine": None, "build_ms": None, "deserialize_ms": None,
                      "deserialize_from": None, "first_inference_ms": None, "first_run_ms": None}

    def cold_start(self):
        return dict(self._cold)

    def _activate(self):
        from .trtexec import find_trtexec

        self.trtexec = find_trtexec(self.options)
        if self.trtexec is None:
            from ..base import BackendUnavailable

            raise BackendUnavailable("no trtexec at options trtexec, /usr/src/tensorrt/bin or PATH")
        options, facts = self.options, self.facts
        version = options.get("tensorrt_version") or header_version()
        self._version = version_tuple(version) if version else ()
        api = generation_for("tensorrt", version or _UNKNOWN_VERSION_API)
        fmt, int8_mode = choose_artifact(api, version or "unknown", self.precision,
                                         self.manifest.get("formats", {}), False)
        self._onnx_path = self.artifact_path(fmt)
        self.shapes = input_shapes(self.manifest, self.batch)
        cc = options.get("compute_capability") or "unknown"
        facts.update({"builder": "trtexec", "trtexec": self.trtexec, "tensorrt": version,
                      "compute_capability": cc, "artifact_format": fmt,
                      "precision_from": precision_source(api, self.precision)})
        if int8_mode:
            facts["int8_mode"] = int8_mode
        self._requested = workspace_bytes(options)
        extra = {"builder": "trtexec", "trtexec_sha256": engine_cache.sha256_file(self.trtexec)}
        self.key = engine_cache.engine_key(engine_cache.sha256_file(self._onnx_path), "tensorrt",
                                           version or "unknown", cc, self.precision, self.shapes,
                                           self._requested, extra)
        self.cache = engine_cache.EngineCache(engine_cache.cache_dir(options))
        self.engine_path = self.cache.paths(self.key)["engine"]
        # trtexec loads and saves a timing cache from 8.2 (--timingCacheFile; trtexec.build_command)
        self._timing_key = engine_cache.timing_cache_key("tensorrt", version, cc)
        self._timing = self.cache.timing_cache_path("tensorrt", version, cc) \
            if version and self._version >= (8, 2) else None
        facts["engine_file"] = self.engine_path
        facts["engine_key"] = self.key
        # Taken whether or not this run builds, as on the Python path (runner._take_timing_cache).
        self._timing_provided = self.cache.take_timing_cache(self._timing, self._timing_key,
                                                             options.get("shared_timing_cache")) \
            if self._timing else {}
        if self._timing_provided:
            facts["timing_cache_offer"] = self._timing_provided
        if self.cache.load(self.key) is None:
            self.cache.adopt(self.key, options.get("shared_engines"))
        if self.cache.load(self.key) is not None:
            built_info = self.cache.built_info(self.key)
            reuse(facts, self._cold, built_info)
            if facts["engine"] == "shared":
                self._cold["build_ms"] = built_info.get("build_ms")
            facts["engine_bytes"] = os.path.getsize(self.engine_path)
            facts["workspace_bytes"] = built_info.get("workspace_bytes", self._requested)
            return
        self._build()

    def _build(self):
        """Build under the retry policy (retry.py): trtexec's OOM words or its SIGKILL retry once."""
        facts = self.facts
        seeded = engine_cache.read_bytes(self._timing) if self._timing else None
        (parsed, argv, wall_ms, size), record = build_with_retry(
            self._build_once, self._requested, self.options, self.phase)
        written = engine_cache.read_bytes(self._timing) if self._timing else None
        if written is not None:
            facts["timing_cache"] = engine_cache.record_timing_cache(self._timing, self._timing_key, written,
                                                                     bool(seeded), self._timing_provided)
        self._cold["engine"] = facts["engine"] = "built"
        build_s = parsed["build_time_s"]
        self._cold["build_ms"] = build_s * 1e3 if build_s is not None else None
        facts.update({"build_ms": self._cold["build_ms"], "build_wall_ms": wall_ms, "engine_bytes": size,
                      "workspace_bytes": record["workspace_bytes"], "build": record,
                      "build_command": argv, "trtexec_build_time_s": build_s})
        if parsed["tensorrt_version"]:
            facts["tensorrt_reported"] = parsed["tensorrt_version"]
        if parsed["compute_capability"]:
            facts["compute_capability_reported"] = parsed["compute_capability"]

    def _build_once(self, workspace):
        tmp = "{}.trtexec.{}".format(self.engine_path, os.getpid())
        argv = build_command(self.trtexec, self._onnx_path, tmp, self.precision, self.shapes,
                             workspace, self._version, self._timing)
        t0 = time.perf_counter()
        try:
            parsed, _ = run_trtexec(argv)
            wall_ms = (time.perf_counter() - t0) * 1e3
            if not os.path.isfile(tmp):
                raise TrtexecFailed("trtexec passed but wrote no engine at " + tmp)
            size = os.path.getsize(tmp)
            built = {"workspace_bytes": workspace, "requested_workspace_bytes": self._requested,
                     "build_wall_ms": wall_ms, "trtexec_build_time_s": parsed["build_time_s"],
                     "command": argv}
            self.cache.store_file(self.key, tmp, built)
            self.facts["engine_sha256"] = self.cache.built_info(self.key).get("sha256")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        return parsed, argv, wall_ms, size

    def run_benchmark(self, settings):
        """Measure the engine with trtexec; a cached engine that will not load is rebuilt once."""
        times = "{}.times.{}.json".format(self.engine_path, os.getpid())
        argv = benchmark_command(self.trtexec, self.engine_path, self.shapes, settings, times)
        if self.options.get("profile"):
            # A separate profiling run keeps the per-layer timers out of the latency figures.
            argv += ["--dumpProfile", "--separateProfileRun"]
        self.facts["benchmark_command"] = argv
        self.no_transfers_applied = bool(settings.get("no_transfers"))
        self.phase("steady")
        try:
            try:
                parsed, _ = run_trtexec(argv)
            except TrtexecFailed:
                if self.facts.get("engine") not in ("cached", "shared"):
                    raise
                self.cache.remove(self.key)
                self.facts["cached_engine_rejected"] = True
                self._build()
                self.phase("steady")
                parsed, _ = run_trtexec(argv)
            self._cold["first_inference_ms"] = first_query_ms(times)
        finally:
            if os.path.exists(times):
                os.remove(times)
        self._read_load_figures(parsed)
        self._layers = parsed.get("layers") or None
        return steady_from_summary(parsed, self.batch, settings)

    def _read_load_figures(self, parsed):
        """Deserialization and first run from the benchmark run's own figures."""
        cold = self._cold
        if parsed["engine_deserialize_time_s"] is not None:  # 8.6+: the deserialization itself
            cold["deserialize_ms"] = parsed["engine_deserialize_time_s"] * 1e3
            cold["deserialize_from"] = "Engine deserialized in"
        elif parsed["engine_load_time_s"] is not None:  # up to 8.5: reading and deserializing
            cold["deserialize_ms"] = parsed["engine_load_time_s"] * 1e3
            cold["deserialize_from"] = "Engine loaded in"
        self.facts["trtexec_deserialize_time_s"] = parsed["engine_deserialize_time_s"]
        self.facts["trtexec_load_time_s"] = parsed["engine_load_time_s"]
        parts = [cold["deserialize_ms"], cold["first_inference_ms"]]
        if cold["engine"] == "built":
            parts.append(cold["build_ms"])
        # first run = (build +) deserialization + first query, each as trtexec printed it
        cold["first_run_ms"] = sum(parts) if all(p is not None for p in parts) else None

    def profile(self, feed=None, top=15):
        """The --dumpProfile table trtexec printed in its separate profiling run."""
        layers = self._layers or []
        return {"source": "trtexec", "layers": layers[:top], "nodes": len(layers)}

    def _infer(self, feed):
        raise RuntimeError("trtexec runs the inferences; use run_benchmark()")
