"""Agent command line. Every subcommand prints exactly one JSON document on stdout.

    agent probe [--root /]          device facts
    agent run --job FILE|-          supervised measurements (one child process per run)
    agent session --root ROOT       probe, store check, then run: lines on stdin (cmd_session)
    agent measure SPEC RESULT PHASE (internal: the child that does the timing)
    agent version
"""

import os
import sys

from .protocol import PROTOCOL_VERSION

# Only os and sys at the top (and the protocol's constants): `session --prestart` forks its
# measuring child before anything else is imported (main, _fork_first), so what the child does
# not need (argparse, json, platform) is imported by the functions that use it.


def _zipapp():
    """The zipapp this agent was started as (``python AGENT.pyz``), or None from a source tree.

    Python puts a zipapp itself on sys.path (a script, only its directory); asked that way, not
    of zipfile (~7 ms to import)."""
    here = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if here and os.path.isfile(here) and here in set(os.path.abspath(p) for p in sys.path if p):
        return here
    return None


def entry_command():
    """The command that starts this same agent again (for the measuring children)."""
    here = _zipapp()
    if here:
        return [sys.executable, here]
    # Running from a source tree: ``python -m <package>``.
    return [sys.executable, "-m", __package__]


def _python_version():
    import platform

    return platform.python_version()


def _emit(doc):
    import json

    doc.setdefault("protocol", PROTOCOL_VERSION)
    sys.stdout.write(json.dumps(doc, sort_keys=True) + "\n")
    sys.stdout.flush()


def cmd_version(args):
    _emit({"kind": "version", "python": _python_version(),
           "agent": _bundle_id(), "entry": entry_command()})
    return 0


def _bundle_id():
    # A shipped bundle lives in the device store under its SHA-256: that name is its identity.
    here = _zipapp()
    return os.path.basename(here) if here else "source"


def cmd_probe(args):
    from .probe import probe

    facts = probe(root=args.root, run_commands=not args.no_commands,
                  tensorrt_modules=not args.no_tensorrt_modules)
    _emit({"kind": "probe", "facts": facts})
    return 0


def _stop_when_host_goes(stream):
    """Watch the job's stdin after the job line: end-of-file means the host was interrupted or
    the connection dropped, so stop the measuring children and exit (nobody will read a result)."""
    import signal
    import threading
    import time

    from .supervise import stop_all

    fd = stream.fileno()

    def watch():
        # os.read, not the buffered stream: a daemon thread blocked inside a buffered read would
        # hold its lock at interpreter shutdown.
        try:
            while os.read(fd, 4096):
                pass
        except (IOError, OSError, ValueError):
            pass
        # Stop from the main thread (its SIGINT handler: _stop_on_signals), so the run loop is not
        # left waiting on a child this thread killed while the board's clocks are being restored.
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(60)
        stop_all()  # the main thread did not exit: stop from here after all
        os._exit(130)

    thread = threading.Thread(target=watch, name="host-watch")
    thread.daemon = True
    thread.start()


def _stop_on_signals():
    import signal

    from .supervise import stop_all

    def stop(signum, frame):
        stop_all()
        os._exit(128 + signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)


def cmd_run(args):
    import json

    _stop_on_signals()
    if args.job == "-":
        # The first line holds the job. With --stop-on-eof the host keeps stdin open while the
        # runs last, and its end means the host is gone.
        raw = sys.stdin.buffer.readline() if args.stop_on_eof else sys.stdin.buffer.read()
        if args.stop_on_eof:
            _stop_when_host_goes(sys.stdin.buffer)
    else:
        with open(args.job) as fh:
            raw = fh.read()
    job = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    return _run_job(job, args.progress)


def _run_job(job, progress=False, prestarted=None):
    """Each run of ``job`` in a supervised child, one after the other; one "run" document.
    ``prestarted``: a child already started (cmd_session), given the first run it fits."""
    from .supervise import run_supervised
    from .backends.tensorrt.retry import spec_after_killed_build
    from .device_lock import MeasureLock
    from .power.lock import LockRefused
    from .protocol import failed_result

    entry = entry_command()
    results = []
    # Measurements on one device never overlap; should this process die, the kernel drops the lock.
    lock = MeasureLock(job.get("workdir")).acquire()
    for spec in job.get("runs", []):
        spec = dict(spec)
        spec.setdefault("artifact_dir", job.get("artifact_dir"))
        timeout_s = float(spec.pop("timeout_s", None) or job.get("timeout_s") or 600)
        limit = spec.pop("memory_limit_mb", None) or job.get("memory_limit_mb")
        board = _board_settings(spec, job.get("workdir"))
        try:
            # Clocks and power mode as asked while this spec runs, put back however it ends.
            with board:
                result = _run_with_retry(run_supervised, spec_after_killed_build, entry, spec,
                                         timeout_s, limit, job.get("workdir"), prestarted)
        except LockRefused as exc:
            result = failed_result(spec, "error", str(exc))
        if board.wanted:
            result.setdefault("power", {})["lock"] = board.record
        if progress:
            sys.stderr.write("edgetrt-agent: {} {} b{}: {}\n".format(
                result.get("backend"), result.get("precision"), result.get("batch"),
                result.get("status")))
            sys.stderr.flush()
        results.append(result)
    if prestarted is not None:
        prestarted.stop()  # no run took it (a no-op when one did)
    lock.release()
    _emit({"kind": "run", "python": _python_version(), "agent": _bundle_id(),
           "runs": lock.annotate(results)})
    return 0


def cmd_session(args):
    """One process for a deploy's first contact: the probe, then the store check and assembly of
    the artifact the host names, then its job, each on the host's next line of stdin.

    The host learns what to send only from the probe (which forms the device needs), so it asks
    for them after reading it; this saves the second remote command, and its two interpreter
    starts (the store's helper and the agent), that the check and the first run otherwise take.
    With --prestart the first run's measuring child starts before the probe. Lines out: the
    probe, the store's answer (store_ops.prepare: files, "materialized", "seconds"), and, when
    every file was in the store and the artifact assembled, the run document. Anything else
    (end of input, files missing) ends the session after the store's answer; the host then sends
    what is missing and runs the job as a command of its own.
    """
    prestarted = None
    forked = _forked_for(args.prestart, args.memory_limit_mb)
    if args.prestart:
        from .supervise import prestart

        prestarted = prestart(entry_command(), args.prestart, args.memory_limit_mb, forked)
    _stop_on_signals()
    import json
    import time

    from . import store_ops
    from .probe import probe

    try:
        facts = probe(root="/", run_commands=True, tensorrt_modules=not args.no_tensorrt_modules)
        _emit({"kind": "probe", "facts": facts})
        line = store_ops.read_line(0)
        if not line.strip():
            return 0  # the host needed only the probe
        began = time.time()
        try:
            out = store_ops.prepare(args.root, args.verify, json.loads(line))
        except (store_ops.Refused, OSError) as exc:
            return store_ops.refused(exc, "prepare")
        out["seconds"] = time.time() - began
        store_ops.emit(out)
        if not store_ops.complete(out):
            return 0
        job = json.loads(store_ops.read_line(0) or "{}")
        _stop_when_host_goes(sys.stdin.buffer)
        return _run_job(job, prestarted=prestarted)
    finally:
        if prestarted is not None:
            prestarted.stop()  # a no-op once a run took it


def _board_settings(spec, workdir):
    """--lock-clocks / --power-mode (refused when impossible); --rigorous locks where it can."""
    from .power.lock import BoardSettings

    explicit = bool(spec.get("lock_clocks")) or spec.get("power_mode") is not None
    return BoardSettings(lock_clocks=bool(spec.get("lock_clocks") or spec.get("rigorous")),
                         power_mode=spec.get("power_mode"), required=explicit, state_dir=workdir)


def _run_with_retry(run_supervised, spec_after_killed_build, entry, spec, timeout_s, limit, workdir,
                    prestarted=None):
    result = run_supervised(entry, spec, timeout_s=timeout_s, memory_limit_mb=limit, workdir=workdir,
                            prestarted=prestarted)
    retry = spec_after_killed_build(spec, result)
    if retry is not None:
        # A TensorRT child killed during its first build: its second and last (retry.py).
        first = {k: result.get(k) for k in ("status", "message", "exit")}
        result = run_supervised(entry, retry, timeout_s=timeout_s, memory_limit_mb=limit, workdir=workdir)
        result["retried_after"] = first
    return result


def measure_command(argv):
    """``measure SPEC RESULT [PHASE] [--wait-for-go]`` or ``measure --prestarted BACKEND``: the
    supervisor's own command for a measuring child, read here without argparse. So a started
    child holds what a forked one (child_process.fork_prestarted) holds when its run begins, and
    their peak memory (ru_maxrss) is comparable: argparse and what it imports are ~2 MB."""
    from .child_process import name_this_process

    name_this_process()
    wait_for_go = "--wait-for-go" in argv
    rest = [a for a in argv if a != "--wait-for-go"]
    if rest[:1] == ["--prestarted"] and len(rest) == 2:
        from .measure import prestarted_main

        code = prestarted_main(rest[1])
    elif 2 <= len(rest) <= 3 and not any(a.startswith("--") for a in rest):
        from .measure import main as measure_main

        code = measure_main(rest, wait_for_go=wait_for_go)
    else:
        sys.stderr.write("edgetrt-agent measure: expected SPEC RESULT [PHASE] [--wait-for-go] or "
                         "--prestarted BACKEND, not {}\n".format(" ".join(argv)))
        code = 2
    # The result is written and renamed, the runner closed: end here, without the interpreter's
    # teardown of the runtime's modules and objects (40-180 ms after ONNX Runtime on this host),
    # which nothing reads and which the supervisor would count in the child's wall time.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def build_parser():
    import argparse

    parser = argparse.ArgumentParser(prog="edgetrt-agent")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("probe", help="print device facts")
    p.add_argument("--root", default="/", help="read system files under this prefix")
    p.add_argument("--no-commands", action="store_true", help="read files only, run no commands")
    p.add_argument("--no-tensorrt-modules", action="store_true",
                   help="import no TensorRT module (no TensorRT run planned): its live facts are left out")
    p.set_defaults(func=cmd_probe)
    r = sub.add_parser("run", help="run measurements described by a job JSON")
    r.add_argument("--job", required=True, help="job file, or - for standard input")
    r.add_argument("--progress", action="store_true", help="one line per finished run on stderr")
    r.add_argument("--stop-on-eof", action="store_true",
                   help="with --job -: stop every run and exit when stdin ends after the job line")
    r.set_defaults(func=cmd_run)
    se = sub.add_parser("session", help="probe, then check an artifact and run its job (lines on stdin)")
    se.add_argument("--root", required=True, help="the edgetrt root on this device")
    se.add_argument("--verify", action="store_true", help="hash every store file")
    se.add_argument("--no-tensorrt-modules", action="store_true", help="as probe's")
    se.add_argument("--prestart", metavar="BACKEND", help="start the first run's measuring child now")
    se.add_argument("--memory-limit-mb", type=int, help="the runs' address-space limit (for --prestart)")
    se.set_defaults(func=cmd_session)
    v = sub.add_parser("version", help="print the agent's identity")
    v.set_defaults(func=cmd_version)
    return parser


#: the child _fork_first forked: ((backend, memory limit), its child_process.ForkedChild)
_FORKED = []


def _fork_first(argv):
    """``session --prestart BACKEND [--memory-limit-mb N]``, as the host writes it: fork the
    measuring child now, before argparse and the rest are imported (child_process.py). Any
    other spelling is left to cmd_session, which forks after parsing."""
    if argv[:1] != ["session"] or "--prestart" not in argv[:-1]:
        return
    backend = argv[argv.index("--prestart") + 1]
    limit = None
    if "--memory-limit-mb" in argv[:-1]:
        try:
            limit = int(argv[argv.index("--memory-limit-mb") + 1])
        except ValueError:
            return  # argparse will refuse it
    from .child_process import fork_prestarted

    _FORKED.append(((backend, limit), fork_prestarted(backend, limit)))


def _forked_for(backend, memory_limit_mb):
    """The child _fork_first forked, when it is the one these parsed arguments ask for; else one
    forked now, or None (no ``backend`` asked for one, or fork is refused: supervise then starts
    one as a command). An early child they do not ask for is killed: nobody's child."""
    if _FORKED:
        asked, child = _FORKED.pop()
        if asked == (backend, memory_limit_mb):
            return child
        if child is not None:
            child.kill()
    if not backend:
        return None
    from .child_process import fork_prestarted

    return fork_prestarted(backend, memory_limit_mb)


def main(argv=None):
    """The agent's command line; ``argv`` None: started as a program (``python AGENT.pyz ...``),
    which may end with os._exit. Given ``argv`` (a test, in its own process): SystemExit."""
    as_program = argv is None
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["measure"]:
        measure_command(argv[1:])  # never returns
    _fork_first(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        sys.exit(2)
    code = args.func(args)
    if as_program and args.func in (cmd_session, cmd_run):
        # The answer is written and flushed, the children reaped, the lock released: end
        # without the interpreter's teardown (~10 ms), which the host waits for before it
        # reads the answer as complete.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)
    sys.exit(code)
