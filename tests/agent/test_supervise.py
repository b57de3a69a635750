"""The supervisor against real child processes that end in every way a measurement can end.

The measuring child is replaced by a small real Python program (``entry_cmd`` is any command
that accepts ``measure SPEC RESULT PHASE``): it really segfaults, hangs, allocates past a real
RLIMIT_AS, or is really SIGKILLed.
"""

import json
import sys
import textwrap

import pytest

from edgetrt.agent import outcome
from edgetrt.agent.supervise import run_supervised

CHILD = textwrap.dedent('''
    import json, os, signal, sys, time
    _, spec_path, result_path, phase_path = sys.argv[1:5]
    spec = json.load(open(spec_path))
    open(phase_path, "w").write(spec.get("phase", "load"))
    how = spec["how"]
    if how == "ok":
        json.dump({"backend": "x", "precision": "fp32", "batch": 1, "status": "ok",
                   "first_run_ms": 1.0, "steady": None, "message": ""}, open(result_path, "w"))
    elif how == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif how == "abort":
        os.abort()
    elif how == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif how == "hang":
        time.sleep(60)
    elif how == "alloc":
        blocks = []
        while True:
            blocks.append(bytearray(64 * 1024 * 1024))
    elif how == "trt_incompatible":
        sys.stderr.write("[E] [TRT] The engine plan file is not compatible with this version of "
                         "TensorRT, expecting library version 8.2.1 got 8.0.1, please rebuild.\\n")
        os.kill(os.getpid(), signal.SIGSEGV)
    elif how == "env":
        json.dump({"backend": "x", "precision": "fp32", "batch": 1, "status": "ok", "steady": None,
                   "message": os.environ.get("OPENBLAS_NUM_THREADS", "unset")}, open(result_path, "w"))
    elif how == "exit3":
        sys.stderr.write("something broke\\n")
        sys.exit(3)
''')


@pytest.fixture
def entry(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    # run_supervised appends: measure SPEC RESULT PHASE; the child ignores the word "measure".
    return [sys.executable, str(script)]


def run(entry, how, **kw):
    return run_supervised(entry, {"backend": "x", "how": how, "phase": kw.pop("phase", "load")}, **kw)


def test_ok_result_is_passed_through_with_peak_memory(entry):
    result = run(entry, "ok")
    assert result["status"] == "ok"
    assert result["peak_memory_mb"] > 1
    assert result["exit"]["returncode"] == 0


def test_the_child_gets_one_openblas_thread_unless_the_device_says_otherwise(entry, monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    result = run(entry, "env")
    assert result["message"] == "1" and result["exit"]["env"] == {"OPENBLAS_NUM_THREADS": "1"}
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    result = run(entry, "env")
    assert result["message"] == "4" and "env" not in result["exit"]


def test_segfault_is_crashed_and_names_the_phase(entry):
    result = run(entry, "segv", phase="first_inference")
    assert result["status"] == "crashed"
    assert "SIGSEGV" in result["message"] and "first_inference" in result["message"]


def test_abort_is_crashed(entry):
    assert run(entry, "abort")["status"] == "crashed"


def test_sigkill_is_killed(entry):
    result = run(entry, "sigkill")
    assert result["status"] == "killed"
    assert "SIGKILL" in result["message"]


def test_hang_is_timeout_and_the_child_is_gone(entry):
    result = run(entry, "hang", timeout_s=1.0)
    assert result["status"] == "timeout"
    assert result["wall_s"] < 10


def test_allocation_past_the_memory_limit_is_oom(entry):
    result = run(entry, "alloc", memory_limit_mb=300)
    assert result["status"] == "oom", result
    assert result["exit"]["memory_limit_mb"] == 300


def test_tensorrt_incompatibility_text_wins_over_the_crash(entry):
    assert run(entry, "trt_incompatible")["status"] == "incompatible"


def test_plain_failure_is_error_with_its_last_line(entry):
    result = run(entry, "exit3")
    assert result["status"] == "error"
    assert "something broke" in result["message"]


@pytest.mark.parametrize("text,status", [
    ("std::bad_alloc", "oom"),
    ("tensorflow.python.framework.errors_impl.ResourceExhaustedError: OOM when allocating", "oom"),
    ("[TRT] [E] 2: [virtualMemoryBuffer.cpp::resizePhysical::145] Error Code 2: OutOfMemory", "oom"),
    ("CUDA error: out of memory", "oom"),
    ("Serialization assertion stdVersionRead == serializationVersion failed.Version tag does not match. "
     "Note: Current Version: 236, Serialized Engine Version: 237", "incompatible"),
    ("ValueError: bad shape", "error"),
])
def test_exception_text_classification(text, status):
    assert outcome.classify_exception_text(text) == status


def test_status_words_are_the_documented_ones():
    assert outcome.STATUSES == ("ok", "oom", "killed", "timeout", "crashed", "incompatible", "error")


def test_the_board_is_read_while_the_child_starts_and_before_anything_is_timed(tmp_path, monkeypatch):
    """The real measuring child (noop backend): the supervisor reads the board's state after
    starting it, and the child's timed phases begin only after that read ended."""
    import os
    import time
    from pathlib import Path

    from edgetrt.agent.power import collect

    ended = []
    real = collect.before_run

    def slow_before_run(root="/"):
        time.sleep(0.5)
        state = real(root)
        ended.append(time.time())
        return state

    monkeypatch.setattr(collect, "before_run", slow_before_run)
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))
    monkeypatch.chdir(tmp_path)
    began = time.time()
    result = run_supervised([sys.executable, "-m", "edgetrt.agent"],
                            {"backend": "noop", "batch": 1, "warmup_ms": 0, "min_iterations": 5, "min_seconds": 0},
                            workdir=str(tmp_path))
    assert result["status"] == "ok", result.get("message")
    assert began < ended[0] < result["timed_window"]["start"]
    assert result["wall_s"] >= ended[0] - began  # the child's wall time spans the wait for its go
    assert os.listdir(str(tmp_path)) == []  # its scratch removed


def test_a_child_whose_supervisor_is_gone_before_its_go_measures_nothing(tmp_path):
    import subprocess
    from pathlib import Path

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"backend": "noop", "batch": 1}))
    proc = subprocess.run([sys.executable, "-m", "edgetrt.agent", "measure", str(spec), str(tmp_path / "result.json"),
                           str(tmp_path / "phase"), "--wait-for-go"], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, cwd=str(Path(__file__).resolve().parents[2]), timeout=60)
    assert proc.returncode == 1 and "the supervisor went away before the run" in proc.stderr
    assert not (tmp_path / "result.json").exists()
