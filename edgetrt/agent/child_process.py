"""What a measuring child's process is set up with, and the prestarted child made by fork.

A measuring child runs in a session of its own (a timeout kills its whole process group, build
workers too), under the run's address-space limit, with CHILD_ENV where the device's environment
is silent, and with stdin, stdout and stderr on pipes to its supervisor. ``supervise`` starts one
with subprocess (a new interpreter); ``agent session`` forks its prestarted child (fork_prestarted)
before it has imported anything else: the child skips an interpreter's start, its site and the
agent's own imports (20-50 ms on this host, more on a Nano), which are the part of a deploy's
first cell that its probe cannot hide.

Light on purpose: it runs before the probe, on the deploy's critical path (os, sys and signal are
loaded with every interpreter).
"""

import os
import sys
import time

#: set in a measuring child's environment where the device's is silent. numpy does no linear
#: algebra in a run (inputs, top-k), but OpenBLAS starts one thread per core when numpy is
#: imported: ~30-60 ms of the child's start on this host's two cores, before anything is timed.
#: No runtime measured here uses OpenBLAS (ONNX Runtime has MLAS, TensorFlow Eigen and oneDNN,
#: TensorRT the GPU). A run records what was set (exit.env).
CHILD_ENV = {"OPENBLAS_NUM_THREADS": "1"}

#: the measuring child's process name (/proc/PID/comm, what ps -o comm and top show): a forked
#: child's command line is its agent's (15 characters, the kernel's limit).
CHILD_NAME = b"edgetrt-measure"


def child_env():
    """(the measuring child's environment, what of CHILD_ENV was set in it)."""
    env = dict(os.environ)
    added = dict((k, v) for k, v in CHILD_ENV.items() if k not in env)
    env.update(added)
    return env, added


def limit_memory(limit_mb):
    """Address-space limit: allocations beyond it fail (MemoryError / bad_alloc) instead of
    dragging the whole board into swap or the OOM killer."""
    import resource

    limit = int(limit_mb * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def name_this_process():
    try:
        with open("/proc/self/comm", "wb") as fh:
            fh.write(CHILD_NAME)
    except (IOError, OSError):
        pass  # no /proc (not Linux): the name is only for people reading ps


class ForkedChild(object):
    """The parent's side of a forked child, with what the supervisor uses of subprocess.Popen:
    ``pid``, ``stdin`` (buffered, written), ``stdout`` and ``stderr`` (read), ``poll()`` and
    ``returncode``. Reaped by the supervisor (os.wait4), as its Popen children are."""

    def __init__(self, pid, stdin, stdout, stderr, started):
        self.pid, self.stdin, self.stdout, self.stderr = pid, stdin, stdout, stderr
        self.started = started  # time.time() at the fork
        self.returncode = None

    def poll(self):
        """None while it runs; its exit code once ended, without reaping it (WNOWAIT: the
        supervisor's wait4 still gets its status and resource usage)."""
        if self.returncode is not None:
            return self.returncode
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return -9  # already reaped elsewhere (stop_all): gone
        if info is None:
            return None
        return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status

    def kill(self):
        """kill_group, and its pipes closed (a child nobody will use)."""
        kill_group(self.pid)
        for stream in (self.stdin, self.stdout, self.stderr):
            stream.close()


def kill_group(pid):
    """SIGKILL a measuring child's process group (its session: build workers too) and reap it."""
    import signal

    try:
        os.killpg(pid, signal.SIGKILL)
        os.wait4(pid, 0)
    except OSError:
        pass


def fork_prestarted(backend, memory_limit_mb=None):
    """A ForkedChild that goes on as ``measure --prestarted BACKEND`` (measure.prestarted_main),
    or None where fork is refused (the caller then starts one with subprocess)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pipes = []  # (read, write) each: stdin, stdout, stderr
    try:
        for _ in range(3):
            pipes.append(os.pipe())
        started = time.time()
        pid = os.fork()
    except OSError:  # no descriptors or processes left: the caller's way is slower, not wrong
        for read, write in pipes:
            os.close(read)
            os.close(write)
        return None
    if pid == 0:
        _child(backend, memory_limit_mb, pipes)  # never returns
    (in_r, in_w), (out_r, out_w), (err_r, err_w) = pipes
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    return ForkedChild(pid, os.fdopen(in_w, "wb"), os.fdopen(out_r, "rb"), os.fdopen(err_r, "rb"), started)


def _child(backend, memory_limit_mb, pipes):
    code = 1
    try:
        os.setsid()
        (in_r, _), (_, out_w), (_, err_w) = pipes
        os.dup2(in_r, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        # Nothing of the agent's stays open here (its pipes to the host above all: the host
        # reads the agent's end of output as the agent's exit), as subprocess's close_fds does.
        _close_from(3)
        os.environ.update(child_env()[1])
        if memory_limit_mb:
            limit_memory(memory_limit_mb)
        name_this_process()
        from .measure import prestarted_main

        code = prestarted_main(backend)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - said on stderr; this process must never return into the agent
        try:
            import traceback

            traceback.print_exc()
        except BaseException:  # noqa: BLE001
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _close_from(lowest):
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except (IOError, OSError, ValueError):
        fds = range(lowest, 256)
    for fd in fds:
        if fd >= lowest:
            try:
                os.close(fd)
            except OSError:
                pass  # the directory's own descriptor, closed already
