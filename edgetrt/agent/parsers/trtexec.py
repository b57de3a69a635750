"""Parse trtexec console output (TensorRT 7 to 10) into one dict per run.

What is read, and from which lines:
- version: the banner ``&&&& RUNNING TensorRT.trtexec [TensorRT v8201]`` (absent in TRT 7) and
  ``TensorRT version: 8.6.1`` / ``TensorRT version: 8001`` (8.0 prints the integer form);
- device: ``Selected Device:``, ``Compute Capability:``, ``SMs:``, ``Device Global Memory:``;
- timings: ``Engine built in X sec.``, ``Engine loaded in``, ``Engine deserialized in``;
- the performance summary in both shapes: TRT 7.1's block (``Host Latency`` / ``min: 3.05 ms (end
  to end 3.06 ms)`` / ``throughput: 318 qps`` / ``Enqueue Time`` / ``GPU Compute``) and 7.2+'s
  one-liners (``Latency: min = ... ms, max = ..., percentile(99%) = ... ms``);
- ``Average on N runs - GPU latency: ...`` trace lines;
- ``--dumpProfile`` tables: name-first (``Layer  Time (ms)  Avg. Time (ms)  [Median Time (ms)]
  Time %``, TRT 7 to 8.5) and numbers-first (``Time(ms)  Avg.(ms)  Median(ms)  Time(%)  Layer``,
  TRT 8.6+/10);
- ``&&&& PASSED`` / ``&&&& FAILED`` and ``[E]`` lines.

Every duration key names its unit (``_ms`` or ``_s``). ``status`` is the word of the last ``&&&&``
banner: "RUNNING" means the log ends before trtexec reported a result. A value printed twice keeps
the last one;
use ``parse_trtexec_runs`` for a log that holds several ``&&&& RUNNING`` runs.
"""

import re

from ._common import strip_log_prefix, to_number

_BANNER = re.compile(
    r"^&&&& (?P<status>RUNNING|PASSED|FAILED|WAIVED) TensorRT\.trtexec"
    r"(?: \[TensorRT v(?P<code>\d+)\])?(?: # (?P<command>.*))?$"
)
_VERSION_LINE = re.compile(r"^TensorRT version: (?P<version>[\d.]+)\s*$")
_ENGINE_TIME = re.compile(r"^Engine (?P<what>built|loaded|deserialized) in (?P<value>[\d.eE+-]+) sec")

# "Latency: min = 0.2 ms, max = 0.5 ms, ..., percentile(99%) = 0.36 ms"  (TRT 7.2 and later)
_SUMMARY_LINE = re.compile(
    r"^(?P<label>Latency|End-to-End Host Latency|Enqueue Time|H2D Latency|GPU Compute Time|D2H Latency)"
    r": (?P<body>.*)$"
)
_SUMMARY_ITEM = re.compile(
    r"(?P<key>min|max|mean|median|percentile\((?P<pct>[\d.]+)%\)) = (?P<value>[\d.eE+-]+) ?(?P<unit>ms|us|s)\b"
)
_SUMMARY_KEYS = {
    "Latency": "latency_ms",
    "End-to-End Host Latency": "end_to_end_ms",
    "Enqueue Time": "enqueue_ms",
    "H2D Latency": "h2d_ms",
    "GPU Compute Time": "gpu_compute_ms",
    "D2H Latency": "d2h_ms",
}

# TRT 7.1: a heading line, then "min: 3.05505 ms (end to end 3.06653 ms)" style lines.
_BLOCK_HEADINGS = {"Host Latency": "latency_ms", "Enqueue Time": "enqueue_ms", "GPU Compute": "gpu_compute_ms"}
_BLOCK_ITEM = re.compile(
    r"^(?P<key>min|max|mean|median|percentile): (?P<value>[\d.eE+-]+) (?P<unit>ms|us|s)"
    r"(?: at (?P<pct>[\d.]+)%)?"
    r"(?: \(end to end (?P<e2e>[\d.eE+-]+) (?P<e2e_unit>ms|us|s)(?: at [\d.]+%)?\))?"
)

_THROUGHPUT = re.compile(r"^(?:Throughput|throughput): (?P<value>[\d.eE+-]+) qps")
_TOTALS = (
    (re.compile(r"^Total Host Walltime: (?P<value>[\d.eE+-]+) s"), "total_host_walltime_s"),
    (re.compile(r"^walltime: (?P<value>[\d.eE+-]+) s"), "total_host_walltime_s"),
    (re.compile(r"^Total GPU Compute Time: (?P<value>[\d.eE+-]+) s"), "total_gpu_compute_s"),
    (re.compile(r"^total compute time: (?P<value>[\d.eE+-]+) s"), "total_gpu_compute_s"),
)
_TRACE = re.compile(
    r"^Average on (?P<runs>\d+) runs - GPU latency: (?P<gpu>[\d.eE+-]+) ms - Host latency: (?P<host>[\d.eE+-]+) ms"
    r" \((?:end to end (?P<e2e>[\d.eE+-]+) ms, )?enqueue (?P<enqueue>[\d.eE+-]+) ms\)"
)
_DEVICE_FIELDS = (
    (re.compile(r"^Selected Device: (?P<value>.+?)\s*$"), "device", str),
    (re.compile(r"^Compute Capability: (?P<value>\d+\.\d+)\s*$"), "compute_capability", str),
    (re.compile(r"^SMs: (?P<value>\d+)\s*$"), "sm_count", int),
    (re.compile(r"^Device Global Memory: (?P<value>\d+) MiB"), "device_memory_mib", int),
)

_PROFILE_START = re.compile(r"^=== Profile \((?P<iterations>\d+) iterations ?\) ===")
_NUMBER = r"(-?[\d.]+(?:[eE][+-]?\d+)?)"
_NUMBERS_FIRST_ROW = re.compile(r"^\s*" + r"\s+".join([_NUMBER] * 4) + r"\s+(?P<name>\S.*?)\s*$")

_UNIT_TO_MS = {"ms": 1.0, "us": 0.001, "s": 1000.0}


def decode_version_code(code):
    """'8201' -> '8.2.1', '100200' -> '10.2.0', '8.6.1' -> '8.6.1'; None when it is not a version.

    trtexec encodes the version as MAJOR*1000 + MINOR*100 + PATCH up to TRT 9 and as
    MAJOR*10000 + MINOR*100 + PATCH from TRT 10 on (NV_TENSORRT_VERSION in NvInferVersion.h).
    """
    if code is None:
        return None
    code = str(code).strip()
    if re.match(r"^\d+(\.\d+)+$", code):
        return code
    if not code.isdigit():
        return None
    number = int(code)
    if len(code) >= 6:
        major, minor, patch = number // 10000, (number // 100) % 100, number % 100
    elif len(code) == 4:
        major, minor, patch = number // 1000, (number // 100) % 10, number % 100
    else:
        return None
    return "{}.{}.{}".format(major, minor, patch)


def _ms(value, unit):
    number = to_number(value)
    if number is None:
        return None
    return number * _UNIT_TO_MS.get(unit, 1.0)


def _stat_key(key, pct):
    if key.startswith("percentile"):
        return "p" + _pct_label(pct)
    return key


def _pct_label(pct):
    number = to_number(pct)
    if number is None:
        return str(pct)
    return str(int(number)) if float(number).is_integer() else str(number)


def _new_result():
    return {
        "status": None,
        "tensorrt_version": None,
        "command": None,
        "device": None,
        "compute_capability": None,
        "sm_count": None,
        "device_memory_mib": None,
        "build_time_s": None,
        "engine_load_time_s": None,
        "engine_deserialize_time_s": None,
        "throughput_qps": None,
        "latency_ms": {},
        "end_to_end_ms": {},
        "enqueue_ms": {},
        "h2d_ms": {},
        "gpu_compute_ms": {},
        "d2h_ms": {},
        "total_host_walltime_s": None,
        "total_gpu_compute_s": None,
        "trace_averages": [],
        "profile_iterations": None,
        "layers": [],
        "profile_total": None,
        "errors": [],
        "runs": 0,
    }


class _ProfileTable(object):
    """Reads the rows of one --dumpProfile table, whichever column order its header declares."""

    def __init__(self):
        self.layout = None  # "name_first" or "numbers_first", from the header line
        self.has_median = False

    def read_header(self, message):
        text = message.strip()
        if "Time" not in text:
            return False
        if text.startswith("Layer"):
            self.layout = "name_first"
        elif text.endswith("Layer"):
            self.layout = "numbers_first"
        else:
            return False
        self.has_median = "Median" in text
        return True

    def read_row(self, message):
        """Return a row dict, or None when the line is not a row of this table."""
        if self.layout == "numbers_first":
            match = _NUMBERS_FIRST_ROW.match(message)
            if not match:
                return None
            numbers = [to_number(match.group(i)) for i in range(1, 5)]
            return _row(match.group("name"), numbers[0], numbers[1], numbers[2], numbers[3])
        if self.layout == "name_first":
            count = 4 if self.has_median else 3
            pattern = r"^\s*(?P<name>\S.*?)\s+" + r"\s+".join([_NUMBER] * count) + r"\s*$"
            match = re.match(pattern, message)
            if not match:
                return None
            numbers = [to_number(match.group(i)) for i in range(2, 2 + count)]
            if self.has_median:
                return _row(match.group("name"), numbers[0], numbers[1], numbers[2], numbers[3])
            return _row(match.group("name"), numbers[0], numbers[1], None, numbers[2])
        return None


def _row(name, time_ms, avg_ms, median_ms, percent):
    return {"name": name, "time_ms": time_ms, "avg_ms": avg_ms, "median_ms": median_ms, "percent": percent}


def parse_trtexec(text):
    """Parse trtexec output (one run) into a dict; see the module docstring for the keys."""
    result = _new_result()
    block = None  # current TRT 7.1 summary heading key
    profile = None  # _ProfileTable while inside a --dumpProfile table
    for raw in text.splitlines():
        severity, message = strip_log_prefix(raw)
        stripped = message.strip()

        banner = _BANNER.match(stripped)
        if banner:
            status = banner.group("status")
            if status == "RUNNING":
                result["runs"] += 1
                result["status"] = "RUNNING"
            else:
                result["status"] = status
            if banner.group("code") and result["tensorrt_version"] is None:
                result["tensorrt_version"] = decode_version_code(banner.group("code"))
            if banner.group("command"):
                result["command"] = banner.group("command").strip()
            continue

        if severity in ("E", "F"):
            result["errors"].append(stripped)
            continue

        if profile is not None:
            if profile.layout is None:
                if profile.read_header(message):
                    continue
                profile = None
            else:
                row = profile.read_row(message)
                if row is not None:
                    if row["name"] == "Total":
                        result["profile_total"] = row
                    else:
                        result["layers"].append(row)
                    continue
                profile = None

        start = _PROFILE_START.match(stripped)
        if start:
            result["profile_iterations"] = int(start.group("iterations"))
            result["layers"] = []
            result["profile_total"] = None
            profile = _ProfileTable()
            block = None
            continue

        version = _VERSION_LINE.match(stripped)
        if version:
            result["tensorrt_version"] = decode_version_code(version.group("version"))
            continue

        if _read_device_field(stripped, result) or _read_engine_time(stripped, result):
            continue

        summary = _SUMMARY_LINE.match(stripped)
        if summary:
            target = result[_SUMMARY_KEYS[summary.group("label")]]
            for item in _SUMMARY_ITEM.finditer(summary.group("body")):
                target[_stat_key(item.group("key"), item.group("pct"))] = _ms(item.group("value"), item.group("unit"))
            block = None
            continue

        if stripped in _BLOCK_HEADINGS:
            block = _BLOCK_HEADINGS[stripped]
            continue

        if block is not None:
            item = _BLOCK_ITEM.match(stripped)
            if item:
                key = _stat_key(item.group("key"), item.group("pct") or "99")
                result[block][key] = _ms(item.group("value"), item.group("unit"))
                if item.group("e2e") is not None:
                    result["end_to_end_ms"][key] = _ms(item.group("e2e"), item.group("e2e_unit"))
                continue

        throughput = _THROUGHPUT.match(stripped)
        if throughput:
            result["throughput_qps"] = to_number(throughput.group("value"))
            continue

        if _read_total(stripped, result):
            continue

        trace = _TRACE.match(stripped)
        if trace:
            result["trace_averages"].append({
                "runs": int(trace.group("runs")),
                "gpu_latency_ms": to_number(trace.group("gpu")),
                "host_latency_ms": to_number(trace.group("host")),
                "end_to_end_ms": to_number(trace.group("e2e")) if trace.group("e2e") else None,
                "enqueue_ms": to_number(trace.group("enqueue")),
            })
    return result


def _read_device_field(message, result):
    for pattern, key, kind in _DEVICE_FIELDS:
        match = pattern.match(message)
        if match:
            result[key] = kind(match.group("value"))
            return True
    return False


def _read_engine_time(message, result):
    match = _ENGINE_TIME.match(message)
    if not match:
        return False
    key = {"built": "build_time_s", "loaded": "engine_load_time_s", "deserialized": "engine_deserialize_time_s"}
    result[key[match.group("what")]] = to_number(match.group("value"))
    return True


def _read_total(message, result):
    for pattern, key in _TOTALS:
        match = pattern.match(message)
        if match:
            result[key] = to_number(match.group("value"))
            return True
    return False


def split_runs(text):
    """Split a log holding several trtexec runs at each ``&&&& RUNNING`` banner.

    Text before the first banner (a shell prompt, a notebook's output) is dropped; a log without
    any banner is returned whole, as one run.
    """
    runs = []
    current = None
    for line in text.splitlines(True):
        if line.lstrip().startswith("&&&& RUNNING"):
            if current is not None:
                runs.append("".join(current))
            current = [line]
        elif current is not None:
            current.append(line)
    if current is None:
        return [text]
    runs.append("".join(current))
    return runs


def parse_trtexec_runs(text):
    """Parse every run of a multi-run log; one dict per ``&&&& RUNNING`` banner."""
    return [parse_trtexec(run) for run in split_runs(text)]
