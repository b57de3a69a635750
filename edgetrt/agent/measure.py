"""The measuring child: load an artifact, time it, write one result file.

Runs in its own process (see supervise.py) so that an OOM kill, a segfault inside a runtime, or
a hang cannot take the agent down with it. It writes its current phase to a file as it goes, so
the supervisor can say *where* a killed run died.
"""

import json
import os
import resource
import sys
import time

from . import stats
from .power import thermal, warmup
from .protocol import RIGOROUS, failed_result
from .backends import BackendUnavailable, UnsupportedPrecision, runner_for
from .backends.base import RuntimeReported

DEFAULTS = {
    "warmup_ms": 200.0,     # trtexec's --warmUp default
    "min_iterations": 10,   # trtexec's --iterations default
    "min_seconds": 3.0,     # trtexec's --duration default
    "max_seconds": None,    # optional cap on the timed phase
    "batch": 1,
    "seed": 0,
    "topk": 5,
    "no_transfers": False,  # trtexec's --noDataTransfers: time compute alone (tensorrt)
    "rigorous": False,
}



def peak_rss_mb():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class PhaseFile(object):
    """Where the child is, as one JSON object: {"phase": name, ...detail}.

    Written atomically at each step, so a supervisor whose child was killed reads the last one
    whole (e.g. {"phase": "build", "attempt": 1, "workspace_bytes": N}: see retry.py)."""

    def __init__(self, path):
        self.path = path

    def set(self, phase, **detail):
        if not self.path:
            return
        doc = dict(detail, phase=phase)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(doc, fh, sort_keys=True)
        os.rename(tmp, self.path)


def make_inputs(input_specs, batch, seed, np):
    """Random inputs of these input shapes (like trtexec), batch dimension filled in."""
    rng = np.random.RandomState(seed)
    feed = {}
    for spec in input_specs:
        shape = [batch if (d is None or d < 0) else d for d in spec["shape"]]
        if shape:
            shape[0] = batch
        dtype = np.dtype(spec.get("dtype", "float32"))
        if dtype.kind == "f":
            data = rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
        else:
            data = rng.randint(0, 2, size=shape).astype(dtype)
        feed[spec["name"]] = data
    return feed


def harness_overhead_us(iterations=2000):
    """Median cost of one timed iteration around a call that does nothing, in microseconds."""
    perf = time.perf_counter
    noop = lambda: None  # noqa: E731
    samples = []
    for _ in range(iterations):
        t0 = perf()
        noop()
        samples.append(perf() - t0)
    return stats.median(samples) * 1e6


def warm_up(infer, feed, warmup_ms):
    """Inference repeated for at least ``warmup_ms``; returns how many ran."""
    perf = time.perf_counter
    start = perf()
    iterations = 0
    while (perf() - start) * 1e3 < warmup_ms:
        infer(feed)
        iterations += 1
    return iterations


def timed_loop(infer, feed, min_iterations, min_seconds, max_seconds=None):
    """Time until both min_iterations and min_seconds are reached: (latencies s, wall-clock window)."""
    perf = time.perf_counter
    latencies = []
    window = {"start": time.time()}
    begin = perf()
    while True:
        t0 = perf()
        infer(feed)
        t1 = perf()
        latencies.append(t1 - t0)
        elapsed = t1 - begin
        if len(latencies) >= min_iterations and elapsed >= min_seconds:
            break
        if max_seconds is not None and elapsed >= max_seconds and len(latencies) >= 1:
            break
    window["end"] = time.time()
    return latencies, window


def predictions(runner, images, topk, np):
    """Top-k classes and the full first output for each preprocessed image (batch of 1 each)."""
    result = []
    input_name = runner.manifest["inputs"][0]["name"]
    for i in range(images.shape[0]):
        out = runner.infer({input_name: images[i:i + 1]})[0]
        vec = np.asarray(out, dtype=np.float64).reshape(-1)
        order = np.argsort(-vec)[:topk]
        result.append({
            "top": [[int(k), float(vec[k])] for k in order],
            "output": [round(float(v), 7) for v in vec],
        })
    return result


def measure(spec, phase, partial=None, ready=None):
    """Run one spec; return its result.

    ``partial`` (a dict) receives the runner as soon as it exists, so a run that raises still
    reports its facts and how far its cold start got (see ``main``). ``ready()``, when given, is
    called after the imports and before the first measured phase (_wait_for_go)."""
    settings = dict(DEFAULTS)
    settings.update({k: v for k, v in spec.items() if v is not None})
    if settings.get("rigorous"):
        settings["min_iterations"] = max(int(settings["min_iterations"]), RIGOROUS["min_iterations"])
        settings["min_seconds"] = max(float(settings["min_seconds"]), RIGOROUS["min_seconds"])
    partial = {} if partial is None else partial
    options = spec.get("options") or {}
    # A run is a failure until its measurement completes: it starts as the protocol's failed result.
    result = failed_result(dict(spec, batch=int(settings["batch"])), "error", "")
    result["first_inference_ms"] = None
    phase.set("choose")
    cls, choice = runner_for(spec["backend"], options)
    np = None
    if cls.needs_numpy:  # the trtexec runner needs none: a stock JetPack's python3 may lack it
        phase.set("import")
        import numpy as np
    runner = cls(spec.get("artifact_dir"), precision=result["precision"], batch=result["batch"],
                 options=options, report_phase=phase.set)
    if choice:
        runner.facts.update(path=choice["path"], path_why=choice["why"])
    partial["runner"] = runner
    if ready is not None:
        ready()
    phase.set("load")
    t0 = time.perf_counter()
    with runner:
        result["load_ms"] = (time.perf_counter() - t0) * 1e3
        if runner.measures_itself:
            feed = None
            _measure_by_runner(runner, spec, settings, result)
        else:
            feed = _measure_here(runner, spec, settings, result, np, t0, phase)
        if options.get("profile") and runner.can_profile:
            phase.set("profile")
            result["profile"] = runner.profile(feed)
        result["facts"] = runner.facts
    result["cold_start"] = cold_start_of(runner, result)
    result["status"] = "ok"
    return result


def cold_start_of(runner, result=None):
    """The runner's cold start, with the first inference measure.py timed where it timed one."""
    cold = runner.cold_start()
    if cold is not None and not runner.measures_itself and result is not None:
        cold["first_inference_ms"] = result.get("first_inference_ms")
    return cold


def _measure_by_runner(runner, spec, settings, result):
    """The runner's own tool times the inferences (trtexec): its figures, marked with their
    source; its cold start carries the first inference and the first run it measured. The timed
    window spans the tool's whole benchmark run less its warm-up setting (its own timing is not
    visible from here)."""
    if settings.get("rigorous"):
        # trtexec warms up inside itself, unwatched: a fixed soak as long as the steady rule's window
        settings["warmup_ms"] = max(float(settings["warmup_ms"]), warmup.WINDOW_S * 1e3)
    started = time.time()
    result["steady"] = runner.run_benchmark(dict(settings))
    result["steady"]["no_transfers"] = runner.no_transfers_applied
    result["timed_window"] = {"start": started + float(settings["warmup_ms"]) / 1e3, "end": time.time(),
                              "from": "{}'s benchmark run after its --warmUp".format(runner.name)}
    if settings.get("rigorous"):
        result["steady"]["warmup"] = {"settled": None, "why": "trtexec warms up itself ({:.0f} s --warmUp); "
                                      "its temperature is not watched".format(float(settings["warmup_ms"]) / 1e3)}
    cold = runner.cold_start() or {}
    result["first_inference_ms"] = cold.get("first_inference_ms")
    result["first_run_ms"] = cold.get("first_run_ms")
    if spec.get("images_npy"):
        result["message"] = "no predictions: {} does not return outputs".format(
            result["steady"].get("source"))


def _measure_here(runner, spec, settings, result, np, t0, phase):
    """First inference, warm-up and the timed loop around ``runner.infer``; returns the feed."""
    phase.set("inputs")
    feed = make_inputs(runner.input_specs(), result["batch"], int(settings["seed"]), np)
    phase.set("first_inference")
    t2 = time.perf_counter()
    runner.infer(feed)
    t3 = time.perf_counter()
    result["first_inference_ms"] = (t3 - t2) * 1e3
    result["first_run_ms"] = (t3 - t0) * 1e3
    result["harness_overhead_us"] = harness_overhead_us()
    phase.set("steady")
    steady_warmup = None
    if settings.get("rigorous"):
        steady_warmup = warmup.warm_until_steady(runner.infer, feed, thermal.board_temperature,
                                                 float(settings.get("warmup_cap_s") or RIGOROUS["warmup_cap_s"]))
    warmups = warm_up(runner.infer, feed, float(settings["warmup_ms"]))
    breakdown_note = runner.begin_timed(feed, bool(settings.get("no_transfers")))
    latencies, window = timed_loop(runner.infer, feed, int(settings["min_iterations"]),
                                   float(settings["min_seconds"]), settings.get("max_seconds"))
    breakdown = runner.end_timed()
    result["timed_window"] = window
    result["steady"] = steady = stats.summarise_latencies(latencies, result["batch"])
    steady["warmup_iterations"] = warmups + (steady_warmup or {}).get("iterations", 0)
    steady["warmup_ms"] = float(settings["warmup_ms"])
    steady["no_transfers"] = runner.no_transfers_applied
    _add_breakdown(steady, breakdown, breakdown_note)
    if settings.get("rigorous"):
        steady["warmup"] = steady_warmup
        steady["p90_ci_ms"] = _p90_interval(latencies)
    if spec.get("images_npy") and runner.returns_outputs:
        phase.set("predictions")
        images = np.load(spec["images_npy"])
        result["predictions"] = predictions(runner, images, int(settings["topk"]), np)
    return feed


def _add_breakdown(steady, breakdown, note):
    """trtexec's per-query parts (H2D, GPU compute, D2H, enqueue), from the runner's own timing."""
    if not breakdown:
        steady["breakdown"] = {"measured": False, "why": note or "this backend does not time its parts"}
        return
    steady["breakdown"] = {"measured": True, "source": breakdown.get("source"),
                           "definitions": breakdown.get("definitions")}
    for key in ("h2d_ms", "gpu_compute_ms", "d2h_ms", "enqueue_ms"):
        values = breakdown.get(key)
        if values:
            steady[key] = stats.percentile_summary(values)
        else:
            steady["breakdown"].setdefault("not_measured", {})[key] = breakdown.get("why_" + key) or "no samples"


def _p90_interval(latencies_s):
    interval = stats.percentile_interval(latencies_s, 90, RIGOROUS["p90_confidence"])
    if interval is None:
        return {"why": "too few iterations for a {:.0f} % interval".format(RIGOROUS["p90_confidence"] * 100)}
    return {"low": interval["low"] * 1e3, "high": interval["high"] * 1e3, "confidence": interval["confidence"],
            "ranks": interval["ranks"], "n": interval["n"],
            "method": "distribution-free order-statistic interval (binomial ranks)"}


def _wait_for_go():
    """Wait for the supervisor's go, one line on stdin: it reads the board's state and starts its
    sampler while this process starts (interpreter, numpy, the backend's modules), and says go
    before anything here is timed. End of input without it: the supervisor is gone."""
    waiting_since = time.time()
    if not sys.stdin.buffer.readline():
        sys.stderr.write("edgetrt-agent measure: the supervisor went away before the run "
                         "({:.1f} s waiting)\n".format(time.time() - waiting_since))
        sys.exit(1)


def prestarted_main(backend):
    """``measure --prestarted BACKEND``: forked by ``agent session`` before its probe
    (child_process.fork_prestarted; started as a command where fork is refused), so the imports
    a ``BACKEND`` run always needs (its runner's module, numpy where that runner takes arrays)
    overlap the probe and the host's answer. Then one line on
    stdin names the run's files (``{"spec", "result", "phase"}``), and it goes on as ``main``:
    the supervisor's go still comes before anything is timed. End of input first: the supervisor
    had no run for it."""
    from .backends import only_runner

    try:
        runner = only_runner(backend)  # TensorRT's is chosen per spec: nothing more imported
        if runner is not None and runner.needs_numpy:
            import numpy  # noqa: F401 - imported now, found imported by measure()
    except Exception:  # noqa: BLE001 - a missing runtime is the run's to report, as without prestart
        pass
    line = sys.stdin.buffer.readline()
    if not line.strip():
        return 1
    files = json.loads(line.decode("utf-8"))
    return main([files["spec"], files["result"], files["phase"]], wait_for_go=True)


def main(argv, wait_for_go=False):
    """``measure SPEC_JSON RESULT_PATH [PHASE_PATH]``; exit 0 when a result file was written.
    ``wait_for_go``: wait for the supervisor's go before the first measured phase."""
    spec_path, result_path = argv[0], argv[1]
    phase = PhaseFile(argv[2] if len(argv) > 2 else None)
    with open(spec_path) as fh:
        spec = json.load(fh)
    partial = {}
    try:
        result = measure(spec, phase, partial, ready=_wait_for_go if wait_for_go else None)
    except MemoryError:
        result = failed_result(spec, "oom", "MemoryError: the process ran out of memory")
    except (BackendUnavailable, UnsupportedPrecision) as exc:
        result = failed_result(spec, "error", str(exc))
    except RuntimeReported as exc:  # TensorRT's, CUDA's or trtexec's own words: no traceback
        text = "{}: {}".format(type(exc).__name__, exc)
        result = failed_result(spec, _classified(text), _one_line(text))
    except Exception as exc:  # a runtime's own error: classify its text, keep the trace on stderr
        import traceback

        traceback.print_exc()
        text = "{}: {}".format(type(exc).__name__, exc)
        result = failed_result(spec, _classified(text), _one_line(text))
    runner = partial.get("runner")
    if runner is not None and result["status"] != "ok":
        # How far it got: which path, the engine built or found, the phases already timed.
        result["facts"] = runner.facts
        result["cold_start"] = cold_start_of(runner)
    result["peak_memory_mb"] = peak_rss_mb()
    tmp = result_path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(result, fh)
    os.rename(tmp, result_path)
    return 0


def _classified(text):
    # The failure table only for a failed run: reading and compiling it is no part of a child's
    # start, which comes before its measurement and after the probe (prestarted_main).
    from . import outcome

    return outcome.classify_exception_text(text)


def _one_line(text, limit=400):
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
