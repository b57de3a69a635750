"""trtexec's command line: finding it, the commands per TensorRT version, running it, reading
its figures. (The runner that uses it is trtexec_runner.TrtexecRunner.)

Builds with ``trtexec --onnx=… --saveEngine=…`` and measures with ``trtexec --loadEngine=…``;
the summary is read by ``parsers.trtexec.parse_trtexec``. The latency figures are trtexec's own
(its percentiles, its definition of "Latency" = H2D + GPU compute + D2H per query), so the steady
block says ``"source": "trtexec"`` and carries no figure trtexec did not print (or that is not
derived, as named, from one it printed). ``--exportTimes`` writes every query's times, warm-up
queries included (sampleReporting.cpp exportJSONTrace), so its first record is the first
inference of that process.

Flags by TensorRT version (unknown version: the flags every version takes):
``--explicitBatch`` for 7.x (ONNX needs it there; deprecated in 8, gone in 10);
``--workspace=MiB`` before 8.4, ``--memPoolSize=workspace:MiB`` from 8.4 (``--workspace`` is gone
in 10); ``--timingCacheFile`` from 8.2; ``--fp16`` / ``--int8`` only where the network is weakly
typed (up to 10; from 11 the precision is the model's).
"""

import json
import math
import signal
import subprocess

from ...parsers.trtexec import parse_trtexec
from ...programs import find_program
from .build import build_text_says_oom
from .library import generation_for
from .retry import BuildFailed

TRTEXEC_PATHS = ("/usr/src/tensorrt/bin/trtexec",)
VERSION_HEADERS = ("/usr/include/aarch64-linux-gnu/NvInferVersion.h", "/usr/include/NvInferVersion.h",
                   "/usr/include/x86_64-linux-gnu/NvInferVersion.h")


class TrtexecFailed(BuildFailed):
    """trtexec exited non-zero or did not report PASSED; the message carries its error lines.
    ``out_of_memory``: its output says so, or it was killed by SIGKILL (the OOM killer's signal)."""

    def __init__(self, message, output="", returncode=None):
        killed = returncode is not None and returncode == -signal.SIGKILL
        BuildFailed.__init__(self, message, message + "\n" + output,
                             killed or build_text_says_oom(output or message), output)
        self.returncode = returncode


def find_trtexec(options):
    """The trtexec to use: ``options["trtexec"]``, JetPack's path, then PATH; or None."""
    return find_program("trtexec", TRTEXEC_PATHS, options.get("trtexec"), known_first=True)


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
    if version and generation_for("tensorrt", ".".join(str(v) for v in version)).strongly_typed:
        pass  # the precision is the model's (onnx_fp16 / onnx_int8); the flags are gone
    elif precision == "fp16":
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


def benchmark_command(trtexec, engine_path, shapes, settings, times_path=None):
    """argv for measuring a saved engine with the run's warm-up / iterations / duration;
    ``times_path``: where trtexec writes every query's times (--exportTimes)."""
    argv = [trtexec, "--loadEngine=" + engine_path]
    if any(spec["min"] != spec["max"] for spec in shapes.values()):
        argv.append("--shapes=" + ",".join(_shape_arg(n, spec["opt"]) for n, spec in sorted(shapes.items())))
    argv += ["--warmUp={}".format(int(round(float(settings["warmup_ms"])))),
             "--iterations={}".format(int(settings["min_iterations"])),
             # trtexec takes whole seconds up to 8.x; round up so the run is never shorter
             "--duration={}".format(int(math.ceil(float(settings["min_seconds"]))))]
    if settings.get("no_transfers"):
        argv.append("--noDataTransfers")  # GPU compute alone: no H2D/D2H copies are timed
    if times_path:
        argv.append("--exportTimes=" + times_path)
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
        if proc.returncode < 0:
            detail = "killed by {} ({})".format(
                "SIGKILL, the kernel OOM killer's signal" if proc.returncode == -signal.SIGKILL
                else "signal {}".format(-proc.returncode), detail)
        raise TrtexecFailed("trtexec {} (exit {}, {}): {}".format(
            "failed" if parsed["status"] == "FAILED" else "did not pass", proc.returncode,
            parsed["status"] or "no banner", detail), out, proc.returncode)
    return parsed, out


def _last_line(text):
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    return lines[-1][:300] if lines else "no output"


def first_query_ms(times_path, head_bytes=65536):
    """The first query's latency (H2D + compute + D2H, ms) in an --exportTimes file, or None.

    The file is a JSON list, one query per line; only its head is read (a long run writes
    thousands of queries)."""
    try:
        with open(times_path) as fh:
            head = fh.read(head_bytes)
    except (IOError, OSError):
        return None
    start = head.find("{")
    end = head.find("}", start)
    if start < 0 or end < 0:
        return None
    try:
        first = json.loads(head[start:end + 1])
    except ValueError:
        return None
    value = first.get("latencyMs")
    return float(value) if isinstance(value, (int, float)) else None


def steady_from_summary(parsed, batch, settings):
    """The report's steady block from trtexec's own summary: every figure is one trtexec printed,
    except ``fps``, derived from them as its ``from`` says, so the tables read the same keys as
    on the Python path (latency_ms.median/p99, fps.median)."""
    if not parsed["latency_ms"]:
        raise TrtexecFailed("trtexec printed no latency summary")
    latency = dict(parsed["latency_ms"])
    fps = {"from": "median: batch x 1000 / trtexec's median Latency; throughput: trtexec's "
                   "Throughput (queries/s) x batch"}
    if latency.get("median"):
        fps["median"] = batch * 1000.0 / latency["median"]
    if parsed["throughput_qps"] is not None:
        fps["throughput"] = parsed["throughput_qps"] * batch
    steady = {
        "source": "trtexec",
        "batch": batch,
        "latency_ms": latency,
        "fps": fps,
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
