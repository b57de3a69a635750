"""The one reader of what a device's agent says: bounded, validated against the protocol, typed.

A device may be broken or hostile. Its answer is read with a size cap (the transport stops reading
past it), parsed as strict JSON (NaN and Infinity become null, with a note), walked to a bounded
depth, checked against ``edgetrt.agent.protocol`` (kinds, shapes, the type of every result
field), and every string in it is cut to a bounded length with control characters made visible,
so nothing a device says reaches a terminal or a report raw. A violation is one
:class:`AgentError` naming the device.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields, replace

from edgetrt.agent import protocol
from edgetrt.errors import AgentError

MAX_ANSWER_BYTES = 16 << 20   # predictions for a few images and a per-layer profile need well under 1 MiB
MAX_DEPTH = 32                # the protocol nests a handful of levels
MAX_STRING = 2000             # characters kept of one string (messages, paths, fact values)
MAX_LIST = 10000              # items kept of one list (predictions' output vectors are 1000 long)


def clean_text(text: str, limit: int = MAX_STRING) -> str:
    """``text`` bounded and safe to print: C0/C1 control characters (escape sequences among them)
    shown as ``\\xNN``, newlines and tabs kept."""
    if len(text) > limit:
        text = text[:limit] + f"… [{len(text) - limit} more characters]"
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\t" or not (code < 32 or 0x7f <= code < 0xa0 or ch in "\u202a\u202b\u202c\u202d\u202e"):
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}")
    return "".join(out)


class _Reader:
    """Parses and sanitises one answer, collecting notes about what it had to change."""

    def __init__(self, device: str):
        self.device = device
        self.notes: list[str] = []

    def fail(self, what: str) -> AgentError:
        return AgentError(f"the agent on {self.device} answered something this host will not use: {what}",
                          hint="the device runs another program as edgetrt's agent, or its output is damaged; "
                               "run `edgetrt doctor device NAME --probe` to see what it says")

    def parse(self, raw: bytes, truncated: bool) -> dict:
        if truncated:
            raise self.fail(f"more than {MAX_ANSWER_BYTES >> 20} MiB of output (cut off)")
        lines = raw.decode("utf-8", "replace").strip().splitlines()
        if not lines:
            raise self.fail("no output")
        def constant(name):
            self.notes.append(f"{name} in the agent's answer was read as null")
            return None
        try:
            doc = json.loads(lines[-1], parse_constant=constant)
        except RecursionError:
            raise self.fail(f"JSON nested deeper than {MAX_DEPTH} levels") from None
        except ValueError as exc:
            raise self.fail(f"not JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise self.fail(f"a JSON {type(doc).__name__}, not an object")
        return self.clean(doc, 0)

    def clean(self, value, depth: int):
        if depth > MAX_DEPTH:
            raise self.fail(f"JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, str):
            return clean_text(value)
        if isinstance(value, bool) or value is None or isinstance(value, int):
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                self.notes.append("a non-finite number in the agent's answer was read as null")
                return None
            return value
        if isinstance(value, list):
            if len(value) > MAX_LIST:
                self.notes.append(f"a list of {len(value)} items was cut to {MAX_LIST}")
                value = value[:MAX_LIST]
            return [self.clean(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {clean_text(str(k), 200): self.clean(v, depth + 1) for k, v in value.items()}
        raise self.fail(f"a value of type {type(value).__name__}")


def read_answer(raw: bytes, device: str, kind: str, *, truncated: bool = False) -> tuple[dict, list[str]]:
    """The agent's JSON document of ``kind`` ("probe", "run", "version"), sanitised; and the notes."""
    reader = _Reader(device)
    doc = reader.parse(raw, truncated)
    if doc.get("protocol") != protocol.PROTOCOL_VERSION:
        raise AgentError(f"the agent on {device} speaks protocol {doc.get('protocol')!r}, this host "
                         f"expects {protocol.PROTOCOL_VERSION}",
                         hint="an agent of another edgetrt version answered; deploy again to replace it")
    if doc.get("kind") != kind:
        raise reader.fail(f"a {doc.get('kind')!r} document where {kind!r} was asked for")
    if kind == "probe" and not isinstance(doc.get("facts"), dict):
        raise reader.fail("a probe without facts")
    if kind == "probe" and not isinstance(doc["facts"].get("facts"), dict):
        raise reader.fail("a probe whose facts hold no facts table")
    if kind == "run" and not isinstance(doc.get("runs"), list):
        raise reader.fail(f"runs of type {type(doc.get('runs')).__name__}, not a list")
    return doc, reader.notes


@dataclass(frozen=True)
class RunResult:
    """One measured (or failed) cell, as the whole host uses it: deploy rows, bench cells, history.

    The agent's fields are those of ``protocol.RESULT_FIELDS``; ``model``, the artifact sizes,
    ``measures``, ``agreement`` and ``agent`` are added on the host.
    """

    backend: str
    precision: str
    batch: int
    status: str
    message: str = ""
    model: str | None = None
    first_run_ms: float | None = None
    load_ms: float | None = None
    first_inference_ms: float | None = None
    build_ms: float | None = None
    engine: str | None = None
    #: the builder timing cache this cell's build started from: "new", "own", "shared from DEVICE",
    #: "own, started from DEVICE's", or "own (...)"/"new (...)" when another device's was offered and
    #: not taken; None when the cell built nothing (timing_cache_word)
    timing_cache: str | None = None
    cold_start: dict | None = None
    steady: dict | None = None
    peak_memory_mb: float | None = None
    harness_overhead_us: float | None = None
    wall_s: float | None = None
    artifact_bytes: int | None = None
    original_bytes: int | None = None
    #: what the cell ran where its backend and precision do not say it all (the INT8 model's shape)
    measures: str | None = None
    agreement: dict | None = None
    predictions: list | None = None
    profile: dict | None = None
    facts: dict | None = None
    tegrastats: dict | None = None
    exit: dict | None = None
    stderr_tail: list | None = None
    retried_after: dict | None = None
    device_lock: dict | None = None
    timed_window: dict | None = None
    power: dict | None = None
    throttled: bool | None = None
    power_mean_w: float | None = None
    energy_mj: float | None = None
    temperature_peak_c: float | None = None
    #: the host's memory estimate for this cell (run/preflight.py), where one was made
    preflight: dict | None = None
    agent: str | None = None
    notes: tuple = field(default=())

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def with_(self, **changes) -> "RunResult":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        doc = {}
        for f in fields(self):
            value = getattr(self, f.name)
            doc[f.name] = list(value) if isinstance(value, tuple) else value
        return doc

    @classmethod
    def failed(cls, backend: str, precision: str, batch: int, status: str, message: str,
               model: str | None = None) -> "RunResult":
        """A cell that produced no measurement, made from the protocol's one failed_result."""
        doc = protocol.failed_result({"backend": backend, "precision": precision, "batch": batch},
                                     status, message)
        return cls.from_agent(doc, device="this host", model=model)

    @classmethod
    def from_agent(cls, doc: dict, device: str, model: str | None = None, agent: str | None = None,
                   notes: list | tuple = ()) -> "RunResult":
        """Check one (already sanitised) result against the protocol and type it."""
        if not isinstance(doc, dict):
            raise _Reader(device).fail(f"a run result of type {type(doc).__name__}")
        values = {}
        for key, types in protocol.RESULT_FIELDS.items():
            if key not in doc:
                continue
            value = doc[key]
            if isinstance(value, bool) and bool not in types:
                value = int(value) if int in types else value
            if not isinstance(value, types):
                raise _Reader(device).fail(f"run field {key!r} is a {type(value).__name__}")
            values[key] = value
        for key in ("backend", "precision", "status"):
            if not isinstance(values.get(key), str):
                raise _Reader(device).fail(f"a run result without {key!r}")
        if values["status"] not in protocol.STATUSES + (protocol.SKIPPED,):
            raise _Reader(device).fail(f"unknown run status {values['status']!r}")
        facts = values.get("facts") or {}
        for key in ("steady", "cold_start", "exit", "tegrastats", "profile", "power", "timed_window"):
            if key in values and values[key] is not None and not isinstance(values[key], dict):
                raise _Reader(device).fail(f"run field {key!r} is not an object")
        engine = facts.get("engine") if isinstance(facts.get("engine"), str) else None
        if engine == "shared" and isinstance(facts.get("shared_from"), str):
            engine = f"shared from {facts['shared_from']}"  # built by another board of the same kind
        extra = {"build_ms": _number(facts.get("build_ms")), "engine": engine,
                 "timing_cache": timing_cache_word(facts.get("timing_cache"))}
        values.setdefault("batch", 1)
        values.setdefault("message", "")
        return cls(model=model, agent=agent, notes=tuple(notes), **values, **extra)


def timing_cache_word(fact) -> str | None:
    """What a run's ``timing_cache`` fact (engine_cache.record_timing_cache) says, in the report's
    words: the builder timing cache this cell's build started from. None where the cell built
    nothing (its engine cached or shared: no timing cache was used)."""
    if not isinstance(fact, dict):
        return None
    said = {k: v for k, v in fact.items() if isinstance(v, str) and v}  # (already cleaned by _Reader)
    if "shared_from" in said:
        return f"shared from {said['shared_from']}"  # another board of the same kind wrote it
    if fact.get("reused") is not True:
        word = "new"
    elif "started_from" in said:
        return f"own, started from {said['started_from']}'s"  # taken from another board on an earlier run
    else:
        word = "own"
    if "offered_from" in said:
        word += f" ({said['offered_from']}'s not taken: {said.get('not_taken', 'no reason given')})"
    return word


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class AgentClient:
    """Calls the agent on one device and reads its answers (the only place that reads them)."""

    MAX_ANSWER_BYTES = MAX_ANSWER_BYTES
    PROBE_TIMEOUT_S = 120

    def __init__(self, transport, command: list[str], python: str):
        self.transport = transport
        self.command = command
        self.python = python

    @property
    def device(self) -> str:
        return self.transport.name

    def argv(self, args: list[str]) -> list[str]:
        """The device command line of the agent with ``args``."""
        return self.command + args

    def call(self, args: list[str], kind: str, *, stdin: bytes | None = None, timeout: float | None = None,
             hold_stdin: bool = False) -> tuple[dict, list[str]]:
        result = self.transport.run(self.argv(args), stdin=stdin, timeout=timeout,
                                    max_stdout=MAX_ANSWER_BYTES, hold_stdin=hold_stdin)
        return self.read(result, args, kind)

    def read(self, result, args: list[str], kind: str) -> tuple[dict, list[str]]:
        """The answer of ``kind`` in ``result`` (the agent run with ``args``, by this client or by
        the store's helper that became the agent), or one AgentError."""
        if not result.ok and not result.stdout_truncated:
            tail = clean_text(result.stderr_tail(1), 300) or "(no output)"
            raise AgentError(f"the agent on {self.device} failed ({args[0]}, exit {result.exit_code}): {tail}",
                             hint=f"is {self.python} (Python >= 3.6) installed on the device?")
        return read_answer(result.stdout, self.device, kind, truncated=result.stdout_truncated)

    @staticmethod
    def probe_args(tensorrt_modules: bool = True) -> list[str]:
        """The agent's probe command; without ``tensorrt_modules`` it imports no TensorRT module
        (a run with no TensorRT cell needs none of the facts only that import gives)."""
        return ["probe"] if tensorrt_modules else ["probe", "--no-tensorrt-modules"]

    def probe(self, result=None, tensorrt_modules: bool = True) -> dict:
        """The device's facts: ``{"facts": {name: {"value", "source"}}, "release_table", "notes", ...}``.

        ``result``: the probe's output already obtained (ensure_files_then_run), else it is run now."""
        args = self.probe_args(tensorrt_modules)
        if result is None:
            doc, notes = self.call(args, "probe", timeout=self.PROBE_TIMEOUT_S)
        else:
            doc, notes = self.read(result, args, "probe")
        facts = doc["facts"]
        if notes:
            facts.setdefault("notes", []).extend(notes)
        return facts

    #: the agent's session (cmd_session): probe, then an artifact's check and its job, on stdin
    SESSION_ARGS = ["session"]

    @classmethod
    def session_args(cls, root: str, tensorrt_modules: bool, verify: bool, prestart: str | None,
                     memory_limit_mb: int | None) -> list[str]:
        args = cls.SESSION_ARGS + ["--root", root]
        if verify:
            args.append("--verify")
        if not tensorrt_modules:
            args.append("--no-tensorrt-modules")
        if prestart:
            args += ["--prestart", prestart]
        if memory_limit_mb:
            args += ["--memory-limit-mb", str(int(memory_limit_mb))]
        return args

    #: the agent's run command: the job on stdin, which stays open while the runs last
    RUN_ARGS = ["run", "--job", "-", "--stop-on-eof"]

    def run(self, specs: list[dict], timeout_s: float, workdir: str) -> list[RunResult]:
        """Run ``specs`` (one supervised child each, one after the other); one result per spec.

        The job goes on stdin, which stays open: if this host is interrupted or the connection
        drops, the agent reads end-of-file and stops its measuring child at once.
        """
        doc, notes = self.call(self.RUN_ARGS, "run", stdin=self.job_line(specs, workdir),
                               timeout=self.run_timeout(specs, timeout_s), hold_stdin=True)
        return self.run_results(doc, notes, specs)

    @staticmethod
    def job_line(specs: list[dict], workdir: str) -> bytes:
        return (json.dumps({"runs": specs, "workdir": workdir}) + "\n").encode()

    @staticmethod
    def run_timeout(specs: list[dict], timeout_s: float) -> float:
        return sum(float(s.get("timeout_s") or timeout_s) for s in specs) + 120 * len(specs)

    def run_results(self, doc: dict, notes: list[str], specs: list[dict]) -> list[RunResult]:
        """The results of a run document (``run``'s, or the store's helper's that became the agent)."""
        runs = doc["runs"]
        if len(runs) != len(specs):
            raise _Reader(self.device).fail(f"{len(runs)} results for {len(specs)} runs")
        agent = doc.get("agent") if isinstance(doc.get("agent"), str) else None
        return [RunResult.from_agent(r, self.device, agent=agent, notes=notes) for r in runs]
