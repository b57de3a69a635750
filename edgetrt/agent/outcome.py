"""How a measurement ended: one status word per run, decided from exit status and error text.

Statuses: ok, oom, killed, timeout, crashed, incompatible, error.
The text patterns come from real failures (see tests/fixtures and tests/fixtures/errors): CUDA,
TensorRT and TensorFlow each word "out of memory" differently.
"""

import re
import signal

from .protocol import STATUSES, failed_result  # noqa: F401  (the statuses and failed results are the protocol's)

_OOM_PATTERNS = [re.compile(p, re.IGNORECASE) for p in (
    r"\bMemoryError\b",
    r"std::bad_alloc",
    r"out of memory",
    r"OutOfMemory",  # TensorRT 8+: "Error Code 2: OutOfMemory"
    r"\bOOM\b",
    r"ResourceExhaustedError",
    r"failed to allocate",
    r"FAILED_ALLOCATION",
    r"NvMapMemAlloc",
    r"cudaErrorMemoryAllocation",
    r"Cannot allocate memory",
    r"insufficient (workspace|memory)",
    r"Unable to allocate",
    r"failed to map segment",  # dlopen under an address-space limit: mmap ENOMEM
)]

_INCOMPATIBLE_PATTERNS = [re.compile(p, re.IGNORECASE) for p in (
    r"not compatible with this version of TensorRT",
    r"expecting library version",
    r"Version tag does not match",
    r"Serialization assertion .*(safeVersion|current|serialized)",
    r"magicTag",
    r"incompatible device",
    r"different models of devices",
    r"Target GPU SM \d+ is not supported",
)]


def text_says_oom(text):
    return any(p.search(text or "") for p in _OOM_PATTERNS)


def text_says_incompatible(text):
    return any(p.search(text or "") for p in _INCOMPATIBLE_PATTERNS)


def classify_exception_text(text):
    """Status for a run whose code raised with this message."""
    if text_says_incompatible(text):
        return "incompatible"
    if text_says_oom(text):
        return "oom"
    return "error"


def signal_name(signum):
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "signal {}".format(signum)


def classify_exit(returncode, stderr_text, timed_out, oom_killer_hit=False):
    """Status for a child that ended without writing a result.

    ``oom_killer_hit``: the kernel log names this pid as killed by the OOM killer.
    """
    if timed_out:
        return "timeout"
    if returncode is not None and returncode < 0:
        signum = -returncode
        if signum == signal.SIGKILL:
            return "oom" if oom_killer_hit else "killed"
        if text_says_incompatible(stderr_text):
            return "incompatible"
        if text_says_oom(stderr_text):
            # e.g. std::bad_alloc -> abort() when a C++ allocation fails under a memory limit
            return "oom"
        return "crashed"
    if text_says_incompatible(stderr_text):
        return "incompatible"
    if text_says_oom(stderr_text):
        return "oom"
    return "error"
