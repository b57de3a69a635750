"""One measurement at a time per edgetrt root: an flock on ``<root>/locks/measure.lock``.

Two deploys to one device would otherwise time their models side by side, each slowing the
other, and both reports would be wrong without saying so. The lock makes the second wait; the
wait is recorded in each run (``device_lock.waited_ms``), so a report says it queued.

flock, not a lock file's existence: the kernel drops it when the holder dies (an OOM kill, a
SIGKILL from the supervisor, a power cut), so there is never a stale lock to clean up. The lock
is per root: deploys with different ``--remote-root`` on one device do not see each other.

Python 3.6, standard library only (this runs on the device).
"""

import fcntl
import os
import select
import stat
import sys
import time

LOCK_DIR = "locks"
LOCK_NAME = "measure.lock"
#: how long a queued run waits for the one before it (their own timeouts bound those runs)
DEFAULT_WAIT_S = 3600.0
POLL_S = 0.05


class MeasureLock(object):
    def __init__(self, workdir, wait_s=DEFAULT_WAIT_S):
        # the job's workdir is <root>/tmp (DeviceSession.run): the lock lives beside it
        self.path = None
        if workdir:
            root = os.path.dirname(os.path.normpath(workdir))
            self.path = os.path.join(root, LOCK_DIR, LOCK_NAME)
        self.wait_s = wait_s
        self.fd = None
        self.info = {"path": self.path, "waited_ms": 0.0, "acquired_at": None, "released_at": None}

    def acquire(self):
        if self.path is None:
            return self
        directory = os.path.dirname(self.path)
        try:
            os.mkdir(directory, 0o755)
        except FileExistsError:
            pass
        if not stat.S_ISDIR(os.lstat(directory).st_mode):  # a planted link: never followed
            _give_up("{} is not a directory (a symbolic link?): remove it".format(directory))
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                          0o644)
        started = time.time()
        poller = _stdout_poller()
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                pass
            if _host_gone(poller):
                sys.exit(0)  # nobody is waiting for this measurement any more
            if time.time() - started > self.wait_s:
                _give_up("another measurement on this device held {} for more than {:.0f} s".format(
                    self.path, self.wait_s))
            time.sleep(POLL_S)
        now = time.time()
        self.info["waited_ms"] = round((now - started) * 1000.0, 1)
        self.info["acquired_at"] = now
        return self

    def release(self):
        if self.fd is not None:
            self.info["released_at"] = time.time()
            os.close(self.fd)  # releases the flock
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False

    def annotate(self, results):
        """Each run says whether it queued, and when the device was its alone."""
        for result in results:
            if isinstance(result, dict):
                result["device_lock"] = dict(self.info)
        return results


def _give_up(message):
    sys.stderr.write("edgetrt-agent: " + message + "\n")
    sys.exit(75)  # EX_TEMPFAIL


def _stdout_poller():
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), 0)  # 0: only error/hang-up conditions
        return poller
    except (AttributeError, ValueError, OSError):  # no poll() or no real stdout (a test harness)
        return None


def _host_gone(poller):
    """The host closed our stdout (its SSH session ended, the deploy was interrupted)."""
    if poller is None:
        return False
    for _fd, events in poller.poll(0):
        if events & (select.POLLERR | select.POLLHUP | select.POLLNVAL):
            return True
    return False
