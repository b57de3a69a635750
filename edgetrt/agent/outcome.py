"""How a measurement ended: one status word per run, decided from exit status and error text.

Statuses: ok, oom, killed, timeout, crashed, incompatible, error.
Which error texts mean ``oom`` or ``incompatible`` is data: data/failure_patterns.json, the one
table the host's log classifier reads too (failure_patterns.py). Its patterns come from real
failures (tests/fixtures/errors and public issues): CUDA, TensorRT, TensorFlow and Jetson's NvMap
each word "out of memory" differently.
"""

import signal

from . import failure_patterns
from .protocol import STATUSES, failed_result  # noqa: F401  (the statuses and failed results are the protocol's)


def text_says_oom(text):
    """The text shows a failure the table maps to ``oom`` (GPU/NvMap/host allocation, OOM killer)."""
    return _text_implies(text, "oom")


def text_says_incompatible(text):
    """The text shows an engine or TensorRT that cannot work here (version, GPU, plan, SM)."""
    return _text_implies(text, "incompatible")


def patterns_for_status(status):
    """The compiled patterns behind ``status``, as the table gives them (tests compare tables)."""
    return tuple(pattern for kind in failure_patterns.kinds_implying(status) for pattern in kind.patterns)


def _text_implies(text, status):
    return any(failure_patterns.text_shows(kind, text) for kind in failure_patterns.kinds_implying(status))


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
