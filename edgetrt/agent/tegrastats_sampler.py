"""Sample `tegrastats` while a measurement runs: on a Jetson the GPU shares DRAM with the CPU, so
the board's RAM in use (and GPU load) says more about memory pressure than the process's RSS."""

import subprocess
import threading
import time

from .parsers import tegrastats
from .programs import find_program

_KNOWN_PATHS = ("/usr/bin/tegrastats",)


def find_tegrastats(explicit=None):
    """The tegrastats program to use, or None (every non-Jetson machine)."""
    return find_program("tegrastats", _KNOWN_PATHS, explicit)


class TegrastatsSampler(object):
    """start() before the measured child, stop() after it: returns tegrastats.summarise() or None."""

    def __init__(self, program, interval_ms=100):
        self.program = program
        self.interval_ms = interval_ms
        self.lines = []
        #: (wall-clock time the line was read, line): what power/context.py attributes to the
        #: timed phase (tegrastats prints one line per interval and flushes it)
        self.samples = []
        self._proc = None
        self._reader = None

    def start(self):
        try:
            self._proc = subprocess.Popen([self.program, "--interval", str(int(self.interval_ms))],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            self._proc = None
            return self
        self._reader = threading.Thread(target=self._read)
        self._reader.daemon = True
        self._reader.start()
        return self

    def _read(self):
        for raw in iter(self._proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.samples.append((time.time(), line))
                self.lines.append(line)

    def stop(self):
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if self._reader is not None:
            self._reader.join(5)
        if not self.lines:
            return None
        summary = tegrastats.summarise(self.lines)
        summary["interval_ms"] = self.interval_ms
        return summary
