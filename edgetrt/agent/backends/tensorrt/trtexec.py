"""trtexec as the TensorRT backend when the ``tensorrt`` Python module is missing.

Builds with ``trtexec --onnx=… --saveEngine=…`` and measures with ``trtexec --loadEngine=…``;
the summary is read by ``parsers.trtexec.parse_trtexec``. In this mode the latency figures are
trtexec's own (its percentiles, its definition of "Latency" = H2D + GPU compute + D2H per query),
so the steady block says ``"source": "trtexec"`` and carries no figure trtexec did not print.

Flags by TensorRT version (unknown version: the flags every version takes):
``--explicitBatch`` for 7.x (ONNX needs it there; deprecated in 8, gone in 10);
``--workspace=MiB`` before 8.4, ``--memPoolSize=workspace:MiB`` from 8.4 (``--workspace`` is gone
in 10); ``--timingCacheFile`` from 8.2.
"""

import math
import os
import subprocess
import time

from ...parsers.trtexec import parse_trtexec

TRTEXEC_PATHS = ("/usr/src/tensorrt/bin/trtexec",)
VERSION_HEADERS = ("/usr/include/aarch64-linux-gnu/NvInferVersion.h", "/usr/include/NvInferVersion.h",
                   "/usr/include/x86_64-linux-gnu/NvInferVersion.h")


class TrtexecFailed(Exception):
    """trtexec exited non-zero or did not report PASSED; the message carries its error lines."""

    def __init__(self, message, output=""):
        Exception.__init__(self, message)
        self.output = output


def find_trtexec(options):
    """The trtexec to use: ``options["trtexec"]``, JetPack's path, then PATH; or None."""
    explicit = options.get("trtexec")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for path in TRTEXEC_PATHS:
        if os.access(path, os.X_OK):
            return path
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(directory, "trtexec")
        if directory and os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    return None


def header_version(paths=VERSION_HEADERS):
    """MAJOR.MINOR.PATCH.BUILD from NvInferVersion.h, or None."""
    names = ("MAJOR", "MINOR", "PATCH", "BUILD")
    for path in paths:
        try:
            with open(path) as fh:
                text = fh.read()
        except (IOError, OSError):
            continue
        values = {}
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "#define" and parts[2].isdigit():
                for name in names:
                    if parts[1] == "NV_TENSORRT_" + name:
                        values[name] = parts[2]
        found = [values[n] for n in names if n in values]
        if len(found) >= 3:
            return ".".join(found)
    return None


def _shape_arg(name, dims):
    # trtexec splits "name:dims" at the colon; TF-style names ("input:0") are quoted.
    quoted = "'{}'".format(name) if ":" in name else name
    return "{}:{}".format(quoted, "x".join(str(int(d)) for d in dims))


def _shapes_flag(flag, shapes, which):
    return "--{}={}".format(flag, ",".join(_shape_arg(n, spec[which]) for n, spec in sorted(shapes.items())))


def build_command(trtexec, onnx_path, engine_path, precision, shapes, workspace_bytes, version,
                  timing_cache_path=None):
    """argv for building (and only briefly running) an engine. ``version``: a tuple, may be ()."""
    argv = [trtexec, "--onnx=" + onnx_path, "--saveEngine=" + engine_path]
    if version[:1] == (7,):
        argv.append("--explicitBatch")
    mib = max(1, int(workspace_bytes) >> 20)
    if version >= (8, 4):
        argv.append("--memPoolSize=workspace:{}".format(mib))
    elif version:
        argv.append("--workspace={}".format(mib))
    if precision == "fp16":
        argv.append("--fp16")
    elif precision == "int8":
        argv.append("--int8")  # only with a Q/DQ model: the runner refuses uncalibrated INT8
    if any(spec["min"] != spec["max"] for spec in shapes.values()):
        argv += [_shapes_flag("minShapes", shapes, "min"), _shapes_flag("optShapes", shapes, "opt"),
                 _shapes_flag("maxShapes", shapes, "max")]
    if timing_cache_path and version >= (8, 2):
        argv.append("--timingCacheFile=" + timing_cache_path)
    # trtexec always runs inference after a build; keep that run as short as it can be.
    argv += ["--warmUp=0", "--iterations=1", "--duration=0"]
    return argv


def benchmark_command(trtexec, engine_path, shapes, settings):
    """argv for measuring a saved engine with the run's warm-up / iterations / duration."""
    argv = [trtexec, "--loadEngine=" + engine_path]
    if any(spec["min"] != spec["max"] for spec in shapes.values()):
        argv.append("--shapes=" + ",".join(_shape_arg(n, spec["opt"]) for n, spec in sorted(shapes.items())))
    argv += ["--warmUp={}".format(int(round(float(settings["warmup_ms"])))),
             "--iterations={}".format(int(settings["min_iterations"])),
             # trtexec takes whole seconds up to 8.x; round up so the run is never shorter
             "--duration={}".format(int(math.ceil(float(settings["min_seconds"]))))]
    return argv


def run_trtexec(argv):
    """Run trtexec; return (parsed summary, full output). Raises TrtexecFailed."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
    except OSError as exc:
        raise TrtexecFailed("could not start {}: {}".format(argv[0], exc))
    out = proc.communicate()[0].decode("utf-8", "replace")
    parsed = parse_trtexec(out)
    if proc.returncode != 0 or parsed["status"] != "PASSED":
        detail = "; ".join(parsed["errors"][-5:]) or _last_line(out)
        raise TrtexecFailed("trtexec {} (exit {}, {}): {}".format(
            "failed" if parsed["status"] == "FAILED" else "did not pass", proc.returncode,
            parsed["status"] or "no banner", detail), out)
    return parsed, out


def _last_line(text):
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    return lines[-1][:300] if lines else "no output"


def steady_from_summary(parsed, batch, settings):
    """The report's steady block from trtexec's own summary; every figure is one trtexec printed."""
    if not parsed["latency_ms"]:
        raise TrtexecFailed("trtexec printed no latency summary")
    steady = {
        "source": "trtexec",
        "batch": batch,
        "latency_ms": dict(parsed["latency_ms"]),
        "gpu_compute_ms": dict(parsed["gpu_compute_ms"]),
        "enqueue_ms": dict(parsed["enqueue_ms"]),
        "h2d_ms": dict(parsed["h2d_ms"]),
        "d2h_ms": dict(parsed["d2h_ms"]),
        "end_to_end_ms": dict(parsed["end_to_end_ms"]),
        "throughput_qps": parsed["throughput_qps"],
        "total_host_walltime_s": parsed["total_host_walltime_s"],
        "total_gpu_compute_s": parsed["total_gpu_compute_s"],
        "tensorrt": parsed["tensorrt_version"],
        "settings": {"warmup_ms": float(settings["warmup_ms"]),
                     "iterations": int(settings["min_iterations"]),
                     "duration_s": int(math.ceil(float(settings["min_seconds"])))},
        "note": "trtexec's figures: Latency = H2D + GPU compute + D2H per query, trtexec's "
                "percentiles; items/s = throughput_qps x batch",
    }
    return steady


class TrtexecBackend(object):
    """The TensorRT runner's trtexec mode: build (cached like the Python path), then benchmark."""

    #: --dumpProfile layers from the last benchmark (None when not profiled)
    profile_layers = None

    def __init__(self, runner, trtexec):
        self.runner = runner
        self.trtexec = trtexec

    def activate(self):
        from . import engine_cache
        from .build import build_text_says_oom, version_tuple

        runner, options, facts = self.runner, self.runner.options, self.runner.facts
        onnx_path, int8_mode = runner._artifact()
        if int8_mode == "calibrate":
            from ..base import UnsupportedPrecision

            raise UnsupportedPrecision(
                "int8 through trtexec needs a Q/DQ model (onnx_int8): trtexec cannot calibrate "
                "from images, and --int8 alone uses placeholder scales")
        self.shapes = shapes = runner._shapes()
        version = options.get("tensorrt_version") or header_version()
        cc = options.get("compute_capability") or "unknown"
        facts.update({"builder": "trtexec", "trtexec": self.trtexec, "tensorrt": version,
                      "compute_capability": cc})
        if int8_mode:
            facts["int8_mode"] = int8_mode
        requested = runner._workspace()
        extra = {"builder": "trtexec", "trtexec_sha256": engine_cache.sha256_file(self.trtexec)}
        key = engine_cache.engine_key(engine_cache.sha256_file(onnx_path), version or "unknown", cc,
                                      runner.precision, shapes, requested, extra)
        self.cache = cache = engine_cache.EngineCache(engine_cache.cache_dir(options))
        self.key = key
        self.engine_path = cache.paths(key)["engine"]
        facts["engine_file"] = self.engine_path
        if cache.load(key) is not None:
            facts["engine"] = "cached"
            facts["engine_bytes"] = os.path.getsize(self.engine_path)
            facts["workspace_bytes"] = cache.built_info(key).get("workspace_bytes", requested)
            return
        self._onnx_path, self._requested = onnx_path, requested
        self._version = version_tuple(version) if version else ()
        self._timing = cache.timing_cache_path(version, cc) if version else None
        workspace, failures = requested, []
        while True:
            try:
                self._build(workspace)
                break
            except TrtexecFailed as exc:
                failures.append({"workspace_bytes": workspace, "error": str(exc)[-800:]})
                if len(failures) == 1 and build_text_says_oom(exc.output or str(exc)) and workspace > 1:
                    workspace //= 2
                    continue
                if build_text_says_oom(exc.output or str(exc)):
                    raise TrtexecFailed("trtexec engine build ran out of memory with workspace {} "
                                        "and {} bytes: {}".format(requested, workspace, exc), exc.output)
                raise
        if failures:
            facts["oom_retries"] = len(failures)
            facts["failed_attempts"] = failures

    def _build(self, workspace):
        runner, facts = self.runner, self.runner.facts
        tmp = "{}.trtexec.{}".format(self.engine_path, os.getpid())
        argv = build_command(self.trtexec, self._onnx_path, tmp, runner.precision, self.shapes,
                             workspace, self._version, self._timing)
        runner._phase("build workspace_bytes={}".format(workspace))
        t0 = time.perf_counter()
        try:
            parsed, _ = run_trtexec(argv)
            build_ms = (time.perf_counter() - t0) * 1e3
            if not os.path.isfile(tmp):
                raise TrtexecFailed("trtexec passed but wrote no engine at " + tmp)
            size = os.path.getsize(tmp)
            built = {"workspace_bytes": workspace, "requested_workspace_bytes": self._requested,
                     "build_ms": build_ms, "trtexec_build_time_s": parsed["build_time_s"],
                     "command": argv}
            self.cache.store_file(self.key, tmp, built)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        facts.update({"engine": "built", "build_ms": build_ms, "engine_bytes": size,
                      "workspace_bytes": workspace, "build_command": argv,
                      "trtexec_build_time_s": parsed["build_time_s"]})
        if parsed["tensorrt_version"]:
            facts["tensorrt_reported"] = parsed["tensorrt_version"]
        if parsed["compute_capability"]:
            facts["compute_capability_reported"] = parsed["compute_capability"]
        runner._phase("load")

    def benchmark(self, settings):
        """Measure the engine with trtexec; a cached engine that will not load is rebuilt once."""
        argv = benchmark_command(self.trtexec, self.engine_path, self.shapes, settings)
        if self.runner.options.get("profile"):
            # A separate profiling run keeps the per-layer timers out of the latency figures.
            argv += ["--dumpProfile", "--separateProfileRun"]
        self.runner.facts["benchmark_command"] = argv
        try:
            parsed, _ = run_trtexec(argv)
        except TrtexecFailed:
            if self.runner.facts.get("engine") != "cached":
                raise
            self.cache.remove(self.key)
            self.runner.facts["cached_engine_rejected"] = True
            self._onnx_path, self._requested = self.runner._artifact()[0], self.runner._workspace()
            version = self.runner.facts.get("tensorrt")
            from .build import version_tuple

            self._version = version_tuple(version) if version else ()
            self._timing = self.cache.timing_cache_path(version, self.runner.facts["compute_capability"]) \
                if version else None
            self._build(self._requested)
            parsed, _ = run_trtexec(argv)
        if parsed["engine_deserialize_time_s"] is not None:
            self.runner.facts["trtexec_deserialize_time_s"] = parsed["engine_deserialize_time_s"]
        self.profile_layers = parsed.get("layers") or None
        return steady_from_summary(parsed, self.runner.batch, settings)
