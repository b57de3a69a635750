"""Run one measurement in a child process and report how it ended, whatever happened to it.

The agent process itself never imports a runtime, so a kernel OOM kill, a segfault in a TensorRT
plugin or a hang in a build only ends the child; the supervisor still writes a report.
"""

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from .child_process import child_env, kill_group, limit_memory

_KERNEL_LOGS = ("/var/log/kern.log", "/var/log/syslog")

# Process groups of the measuring children now running, and their scratch directories: stop_all()
# ends them when the host goes away or the agent is told to stop, so no measurement outlives the
# job that asked for it and nothing half-written stays behind.
_ACTIVE = set()
_SCRATCH = set()
_SAMPLERS = set()
# What must be undone however the job ends (power/lock.py: clocks and power mode restored).
_RESTORERS = []


def on_stop(restorer):
    """Register ``restorer()`` to run when stop_all() does (before it exits); returns a callable
    that unregisters it (call it once the restorer ran by itself)."""
    _RESTORERS.append(restorer)

    def forget():
        if restorer in _RESTORERS:
            _RESTORERS.remove(restorer)
    return forget


def stop_all():
    """SIGKILL every measuring child's process group (build workers included); remove their
    scratch; restore what the job changed on the board (clocks, power mode)."""
    for pgid in list(_ACTIVE):
        try:
            os.killpg(pgid, signal.SIGKILL)
            os.waitpid(pgid, 0)
        except OSError:
            pass
        _ACTIVE.discard(pgid)
    for sampler in list(_SAMPLERS):
        sampler.stop()
        _SAMPLERS.discard(sampler)
    for path in list(_SCRATCH):
        shutil.rmtree(path, ignore_errors=True)
        _SCRATCH.discard(path)
    while _RESTORERS:
        restorer = _RESTORERS.pop()
        try:
            restorer()
        except Exception:  # noqa: BLE001 - the agent is exiting; the next restorer must still run
            pass


def _drain(stream, sink, cap=1 << 20):
    total = 0
    for chunk in iter(lambda: stream.read(65536), b""):
        if total < cap:
            sink.append(chunk[:cap - total])
        total += len(chunk)
    stream.close()


def _oom_killer_named(pid, since):
    """True when the kernel log says the OOM killer killed ``pid`` (where the log is readable)."""
    pattern = re.compile(r"(Out of memory|oom-kill|Killed process)\D*{}\b".format(pid))
    texts = []
    try:
        out = subprocess.Popen(["dmesg"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        texts.append(out.communicate(timeout=5)[0].decode("utf-8", "replace"))
    except (OSError, subprocess.TimeoutExpired):
        pass
    for path in _KERNEL_LOGS:
        try:
            if os.path.getmtime(path) >= since - 1:
                with open(path, "rb") as fh:
                    fh.seek(max(0, os.path.getsize(path) - 256 * 1024))
                    texts.append(fh.read().decode("utf-8", "replace"))
        except OSError:
            pass
    return any(pattern.search(t) for t in texts)


class Prestarted(object):
    """A measuring child started before its run is known (``agent session``, before the probe):
    ``measure --prestarted BACKEND``, under the memory limit the host said its runs have. Its
    start overlaps the probe; :func:`run_supervised` hands it the first run that fits it.
    ``forked``: the child already forked (child_process.fork_prestarted); else one is started."""

    def __init__(self, entry_cmd, backend, memory_limit_mb, forked=None):
        self.backend, self.memory_limit_mb = backend, memory_limit_mb
        if forked is not None:
            self.started, self.child = forked.started, _attach(forked)
        else:
            self.started = time.time()
            self.child = _spawn(list(entry_cmd) + ["measure", "--prestarted", backend], memory_limit_mb)
        self.done = False  # handed to a run, or stopped: never used or signalled again

    def fits(self, spec, memory_limit_mb):
        return not self.done and spec.get("backend") == self.backend \
            and memory_limit_mb == self.memory_limit_mb and self.child[0].poll() is None

    def take(self, spec_path, result_path, phase_path):
        """The child, told its run's files; None when it is gone (a new one is started then)."""
        proc = self.child[0]
        line = json.dumps({"spec": spec_path, "result": result_path, "phase": phase_path}) + "\n"
        try:
            proc.stdin.write(line.encode("utf-8"))
            proc.stdin.flush()
        except (IOError, OSError):
            self.stop()
            return None
        self.done = True
        return self.child

    def stop(self):
        if not self.done:
            self.done = True
            proc = self.child[0]
            _stop_child(proc)
            _ACTIVE.discard(proc.pid)


def prestart(entry_cmd, backend, memory_limit_mb=None, forked=None):
    return Prestarted(entry_cmd, backend, memory_limit_mb, forked)


def _spawn(argv, memory_limit_mb):
    """(process, its stdout chunks, its stderr chunks, their reader threads) of a measuring child."""
    env, _ = child_env()
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        start_new_session=True,  # a timeout kills the whole process group (build workers too)
        preexec_fn=(lambda: limit_memory(memory_limit_mb)) if memory_limit_mb else None,
    )
    return _attach(proc)


def _attach(proc):
    """_spawn's tuple for a started child (a Popen, or child_process.ForkedChild)."""
    _ACTIVE.add(proc.pid)  # a session of its own: the child's pid is its process group
    out_chunks, err_chunks = [], []
    readers = [threading.Thread(target=_drain, args=(proc.stdout, out_chunks)),
               threading.Thread(target=_drain, args=(proc.stderr, err_chunks))]
    for t in readers:
        t.daemon = True
        t.start()
    return proc, out_chunks, err_chunks, readers


def run_supervised(entry_cmd, spec, timeout_s=600.0, memory_limit_mb=None, workdir=None,
                   tegrastats_program=None, prestarted=None):
    """Run ``entry_cmd + ['measure', ...]`` for ``spec``; return the run's result dict.

    ``entry_cmd`` starts this agent (``[python, agent.pyz]`` or ``[python, -m, edgetrt.agent]``).
    Where ``tegrastats`` exists (a Jetson; or ``tegrastats_program``), it samples the board while
    the child runs and the result carries its summary under ``"tegrastats"``. ``prestarted``: a
    :class:`Prestarted` child, used when it fits the spec (else stopped, and a child started).
    """
    sampler = None
    tmp = tempfile.mkdtemp(prefix="edgetrt-run-", dir=workdir)
    _SCRATCH.add(tmp)
    try:
        spec_path = os.path.join(tmp, "spec.json")
        result_path = os.path.join(tmp, "result.json")
        phase_path = os.path.join(tmp, "phase")
        with open(spec_path, "w") as fh:
            json.dump(spec, fh)
        started = time.time()
        child = None
        if prestarted is not None and not prestarted.done:
            if prestarted.fits(spec, memory_limit_mb):
                child = prestarted.take(spec_path, result_path, phase_path)
            else:
                prestarted.stop()
        ahead_s = started - prestarted.started if child is not None else None  # (only a taken one)
        if child is None:
            child = _spawn(list(entry_cmd) + ["measure", spec_path, result_path, phase_path, "--wait-for-go"],
                           memory_limit_mb)
        proc, out_chunks, err_chunks, readers = child
        # While the child starts (its interpreter, numpy, the backend's modules), read the board's
        # state and start the sampler; the child waits for this go before its first measured phase
        # (measure._wait_for_go), so both still come before anything is timed.
        try:
            from . import outcome  # noqa: F401 - read after the run, imported while the child starts
            from .power import collect
            from .tegrastats_sampler import TegrastatsSampler, find_tegrastats

            power_state = collect.before_run()
            program = find_tegrastats(tegrastats_program)
            sampler = TegrastatsSampler(program).start() if program else None
            if sampler is not None:
                _SAMPLERS.add(sampler)
        except BaseException:
            _stop_child(proc)
            raise
        _send_go(proc)
        status_word, rusage, timed_out = _wait(proc, started + timeout_s if timeout_s else None)
        _ACTIVE.discard(proc.pid)
        returncode = -os.WTERMSIG(status_word) if os.WIFSIGNALED(status_word) \
            else os.WEXITSTATUS(status_word)
        board = sampler.stop() if sampler else None
        proc.returncode = returncode  # reaped by wait4 above; keep Popen from waiting again
        for t in readers:
            t.join(5)
        stderr_text = b"".join(err_chunks).decode("utf-8", "replace")
        wall_s = time.time() - started
        peak_mb = rusage.ru_maxrss / 1024.0 if rusage else None
        phase, phase_detail = _read_phase(phase_path)

        result = None
        if not timed_out and os.path.exists(result_path):
            with open(result_path) as fh:
                result = json.load(fh)
        if result is None:
            oom_killer = returncode == -signal.SIGKILL and _oom_killer_named(proc.pid, started)
            status = outcome.classify_exit(returncode, stderr_text, timed_out, oom_killer)
            result = outcome.failed_result(
                spec, status, _describe(status, returncode, _phase_label(phase, phase_detail), timeout_s,
                                        stderr_text, oom_killer,
                                        memory_limit_mb))
        elif result.get("status") not in outcome.STATUSES:
            result["status"] = "error"
        result["peak_memory_mb"] = peak_mb if peak_mb is not None else result.get("peak_memory_mb")
        result["wall_s"] = wall_s
        if board:
            result["tegrastats"] = board
        collect.attach(result, power_state, sampler.samples if sampler else [], program)
        result["exit"] = {"returncode": returncode, "phase": phase,
                          "memory_limit_mb": memory_limit_mb, "timeout_s": timeout_s}
        if phase_detail:
            result["exit"]["phase_detail"] = phase_detail  # e.g. which build attempt (retry.py)
        added = child_env()[1]
        if added:
            result["exit"]["env"] = added
        if ahead_s is not None:
            # started this long before its run was known (wall_s counts from then on, not before)
            result["exit"]["prestarted_s"] = round(ahead_s, 3)
        if result["status"] != "ok":
            result["stderr_tail"] = stderr_text.strip().splitlines()[-20:]
        return result
    finally:
        if sampler is not None:
            sampler.stop()  # no-op when already stopped; never leave tegrastats running
            _SAMPLERS.discard(sampler)
        shutil.rmtree(tmp, ignore_errors=True)
        _SCRATCH.discard(tmp)


def _send_go(proc):
    """The child's go (measure._wait_for_go): one line, then end of its stdin."""
    try:
        proc.stdin.write(b"go\n")
        proc.stdin.close()
    except (IOError, OSError):
        pass  # the child already ended; its exit says how


def _wait(proc, deadline):
    """(status word, rusage, timed out) of the child: reaped when it ends, or SIGKILLed with its
    process group once ``deadline`` passes. A thread blocks in wait4, so the end is seen at once
    (a poll would add its interval to the child's wall time); the main thread stays free for the
    stop signals."""
    ended = threading.Event()
    reaped = []

    def reap():
        try:
            reaped.append(os.wait4(proc.pid, 0)[1:])
        except OSError:
            pass  # reaped by stop_all(), which is exiting the agent
        ended.set()

    waiter = threading.Thread(target=reap, name="child-reaper")
    waiter.daemon = True
    waiter.start()
    timed_out = not ended.wait(None if deadline is None else max(0.0, deadline - time.time()))
    if timed_out:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    waiter.join()
    status_word, rusage = reaped[0] if reaped else (signal.SIGKILL, None)
    return status_word, rusage, timed_out


def _stop_child(proc):
    """SIGKILL the child's process group and reap it (before any waiter thread exists)."""
    kill_group(proc.pid)


def _phase_label(phase, detail):
    if not phase or not detail:
        return phase
    return "{} ({})".format(phase, ", ".join("{} {}".format(k.replace("_", " "), v)
                                            for k, v in sorted(detail.items())))


def _read_phase(path):
    """(phase name, its detail dict) from the child's phase file (measure.PhaseFile), or (None, {})."""
    try:
        with open(path) as fh:
            text = fh.read().strip()
    except OSError:
        return None, {}
    try:
        doc = json.loads(text)
    except ValueError:
        return text or None, {}  # a child that writes plain text names only its phase
    if not isinstance(doc, dict):
        return text or None, {}
    detail = dict((k, v) for k, v in doc.items() if k != "phase")
    return doc.get("phase"), detail


def _describe(status, returncode, phase, timeout_s, stderr_text, oom_killer, limit_mb=None):
    from . import outcome

    where = " during {}".format(phase) if phase else ""
    if status == "timeout":
        return "no result within {:.0f} s{}; the run was killed".format(timeout_s, where)
    if returncode is not None and returncode < 0:
        name = outcome.signal_name(-returncode)
        if oom_killer:
            return "killed by the kernel OOM killer ({}){}".format(name, where)
        detail = _last_meaningful_line(stderr_text)
        if limit_mb and status == "crashed":
            # A failed allocation inside a C++ runtime often surfaces as a segfault or abort.
            where += " under a {} MB address-space limit (a failed allocation is the likely cause)".format(
                limit_mb)
        return "ended by {}{}".format(name, where) + (": " + detail if detail else "")
    detail = _last_meaningful_line(stderr_text)
    return "exited with status {}{}".format(returncode, where) + (": " + detail if detail else "")


# absl/glog INFO and WARNING lines (TensorFlow, TensorRT via TF) say nothing about a failure.
_NOISE = re.compile(r"^([IW]\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl|"
                    r"To enable the following instructions|File \"|\^|~)")


def _last_meaningful_line(text):
    for line in reversed((text or "").strip().splitlines()):
        line = line.strip()
        if line and not _NOISE.match(line):
            return line[:300]
    return ""
