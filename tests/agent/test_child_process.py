"""The prestarted measuring child made by fork (agent/child_process.py), looked at from outside:
its own session, its name, its limit and environment, nothing of its parent's left open, and how
it ends when no run comes. Each case forks from a Python process of its own (never pytest's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORK_AND_LOOK = textwrap.dedent("""
    import json, os, sys, time
    from edgetrt.agent.child_process import CHILD_NAME, fork_prestarted

    marker = os.open(os.devnull, os.O_RDONLY)  # open in the parent: must not reach the child
    child = fork_prestarted("noop", 2048)
    pid = child.pid
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open("/proc/%d/comm" % pid, "rb") as fh:
            if fh.read().strip() == CHILD_NAME:
                break  # named after it closed what it inherited
        time.sleep(0.01)
    links = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            links[fd] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass  # an import's file, closed meanwhile
    with open("/proc/%d/limits" % pid) as fh:
        limit = [line for line in fh if line.startswith("Max address space")][0].split()[3]
    look = {"running": child.poll(), "name": CHILD_NAME.decode(), "sid": os.getsid(pid), "pid": pid,
            "links": links, "limit": int(limit)}
    child.stdin.close()  # no run for it: end of input
    while child.poll() is None:
        time.sleep(0.01)
    look["code"] = child.poll()
    look["still_reapable"] = os.WEXITSTATUS(os.wait4(pid, 0)[1])
    look["stdout"], look["stderr"] = child.stdout.read().decode(), child.stderr.read().decode()
    print(json.dumps(look))
""")


def run_script(source: str, env_extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    env.update(PYTHONPATH=str(ROOT), **(env_extra or {}))
    proc = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_forked_child_is_set_up_as_a_started_one_and_ends_without_a_run():
    look = run_script(FORK_AND_LOOK)
    assert look["running"] is None
    assert look["sid"] == look["pid"]  # a session of its own: a timeout kills its whole group
    assert look["limit"] == 2048 * 1024 * 1024
    # stdin, stdout and stderr are its pipes to the parent; nothing else of the parent's is open
    assert all(look["links"][fd].startswith("pipe:") for fd in ("0", "1", "2")), look["links"]
    assert os.devnull not in look["links"].values(), look["links"]
    # no run came: exit 1, seen by poll() without reaping it (the supervisor's wait4 still can)
    assert look["code"] == 1 and look["still_reapable"] == 1
    assert look["stdout"] == "" and look["stderr"] == ""


ENVIRONMENT_SEEN = textwrap.dedent("""
    import ctypes, json, os, sys
    from edgetrt.agent import child_process, measure

    def report(backend):
        # what a runtime's C library reads at load (getenv), not only Python's os.environ
        getenv = ctypes.CDLL(None).getenv
        getenv.restype = ctypes.c_char_p
        value = getenv(b"OPENBLAS_NUM_THREADS")
        sys.stdout.write(json.dumps(value.decode() if value else None))
        return 0

    measure.prestarted_main = report  # the child's "from .measure import prestarted_main"
    child = child_process.fork_prestarted("noop")
    seen = child.stdout.read().decode()
    os.wait4(child.pid, 0)
    print(json.dumps({"child": json.loads(seen), "parent": os.environ.get("OPENBLAS_NUM_THREADS")}))
""")


def test_the_child_environment_is_what_its_runtime_reads():
    assert run_script(ENVIRONMENT_SEEN) == {"child": "1", "parent": None}
    # a device's own setting is kept
    assert run_script(ENVIRONMENT_SEEN, {"OPENBLAS_NUM_THREADS": "4"}) == {"child": "4", "parent": "4"}


@pytest.mark.parametrize("refused", ["fork", "second pipe"])
def test_a_refused_fork_leaves_nothing_open_and_says_none(refused):
    look = run_script(textwrap.dedent("""
        import json, os
        from edgetrt.agent import child_process

        def refuse():
            raise BlockingIOError(11, "Resource temporarily unavailable")

        real_pipe, pipes = os.pipe, []

        def pipe_then_none():
            if pipes:
                raise OSError(24, "Too many open files")
            pipes.append(real_pipe())
            return pipes[-1]

        before = sorted(os.listdir("/proc/self/fd"))
        if REFUSED == "fork":
            os.fork = refuse
        else:
            os.pipe = pipe_then_none
        child = child_process.fork_prestarted("noop")
        print(json.dumps({"child": child, "leaked": len(os.listdir("/proc/self/fd")) - len(before)}))
    """).replace("REFUSED", repr(refused)))
    assert look == {"child": None, "leaked": 0}


def test_an_agent_session_whose_fork_is_refused_starts_its_child_as_a_command(tmp_path):
    """The session's Prestarted falls back to `measure --prestarted` (the way before fork)."""
    look = run_script(textwrap.dedent("""
        import json, os, sys
        from edgetrt.agent import child_process, supervise

        forked = None  # what fork_prestarted says when fork is refused
        prestarted = supervise.prestart([sys.executable, "-m", "edgetrt.agent"], "noop", None, forked)
        proc = prestarted.child[0]
        with open("/proc/%d/cmdline" % proc.pid, "rb") as fh:
            cmdline = fh.read().split(b"\\0")
        prestarted.stop()
        print(json.dumps({"measure": b"measure" in cmdline, "prestarted": b"--prestarted" in cmdline}))
    """))
    assert look == {"measure": True, "prestarted": True}


def test_the_session_forks_before_parsing_only_for_the_host_s_own_spelling():
    """agent main's early fork (_fork_first) reads `--prestart B [--memory-limit-mb N]` as the host
    writes them; any other spelling is left to the parsed arguments (cmd_session forks then), and
    an early child that does not match them is killed, never used."""
    look = run_script(textwrap.dedent("""
        import json
        from edgetrt.agent import child_process, main

        forks = []

        class Child(object):
            def __init__(self, backend, limit):
                self.asked, self.killed = (backend, limit), False

            def kill(self):
                self.killed = True

        def fake_fork(backend, limit=None):
            forks.append(Child(backend, limit))
            return forks[-1]

        child_process.fork_prestarted = fake_fork
        seen = {}
        for name, argv in [
                ("host", ["session", "--root", "/r", "--no-tensorrt-modules", "--prestart", "onnxruntime",
                          "--memory-limit-mb", "900"]),
                ("equals", ["session", "--root", "/r", "--prestart=onnxruntime"]),
                ("bad-limit", ["session", "--prestart", "noop", "--memory-limit-mb", "lots"]),
                ("no-prestart", ["session", "--root", "/r"]),
                ("probe", ["probe", "--prestart", "noop"])]:
            del forks[:]
            del main._FORKED[:]
            main._fork_first(argv)
            seen[name] = [list(c.asked) for c in forks]
        # the parsed arguments ask for another child than the one forked early
        del forks[:]
        main._fork_first(["session", "--prestart", "noop", "--prestart", "tf"])
        early = forks[0]
        taken = main._forked_for("tf", None)
        seen["mismatch"] = {"early_killed": early.killed, "taken": list(taken.asked)}
        print(json.dumps(seen))
    """))
    assert look == {"host": [["onnxruntime", 900]], "equals": [], "bad-limit": [], "no-prestart": [],
                    "probe": [], "mismatch": {"early_killed": True, "taken": ["tf", None]}}


@pytest.mark.parametrize("argv", [["--bogus"], ["a"], ["--prestarted"], ["a", "b", "c", "d"]])
def test_a_measure_command_the_supervisor_never_writes_is_one_line_and_exit_2(argv):
    proc = subprocess.run([sys.executable, "-m", "edgetrt.agent", "measure", *argv], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("edgetrt-agent measure: expected ")
