"""Pin the clocks (``jetson_clocks``) and set the power mode (``nvpmodel -m N``) for a run, and put
both back afterwards — also after a failure, a timeout or an interrupt.

The order is NVIDIA jetson_benchmarks' (power mode first, then the clocks), wrapped so that the
board ends as it began::

    sudo -n jetson_clocks --store FILE     the clocks as they were (before nvpmodel touches them)
    sudo -n nvpmodel -m N                  only with a power mode; checked with nvpmodel -q
    sudo -n jetson_clocks                  only with lock_clocks
    ... the run ...
    sudo -n nvpmodel -m OLD                only when the mode was changed
    sudo -n jetson_clocks --restore FILE

``sudo -n`` never asks for a password: without passwordless sudo the run is refused with one
line saying how to allow it. The restore is registered with supervise.on_stop, so stop_all (the
host went away, SIGINT, SIGTERM) runs it too; it runs at most once.
"""

import os
import subprocess
import tempfile

from ..programs import find_program


def find_jetson_clocks():
    # power/clocks.py only when a setting is wanted: every `agent run` imports this module
    from .clocks import find_jetson_clocks as find

    return find()


NVPMODEL_PATHS = ("/usr/sbin/nvpmodel", "/usr/bin/nvpmodel")
_TIMEOUT_S = 60


class LockRefused(Exception):
    """The board's clocks or power mode could not be set; the message says why and what to do."""


def find_nvpmodel():
    return find_program("nvpmodel", NVPMODEL_PATHS)


def sudoers_hint(programs):
    """The one line that enables what edgetrt runs with ``sudo -n``."""
    import getpass

    user = os.environ.get("USER") or getpass.getuser()
    return ("allow them without a password: `echo '{user} ALL=(root) NOPASSWD: {programs}' | sudo tee "
            "/etc/sudoers.d/edgetrt && sudo chmod 0440 /etc/sudoers.d/edgetrt`".format(
                user=user, programs=", ".join(programs)))


def _sudo(argv):
    """(returncode, stdout, stderr) of ``sudo -n argv``."""
    try:
        proc = subprocess.Popen(["sudo", "-n"] + list(argv), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        return 127, "", "could not run sudo: {}".format(exc)
    try:
        out, err = proc.communicate(timeout=_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return 124, out.decode("utf-8", "replace"), "did not finish in {} s".format(_TIMEOUT_S)
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def parse_nvpmodel_query(text):
    """``nvpmodel -q`` prints "NV Power Mode: MAXN" then the mode id: (id, name) or (None, None)."""
    name, mode = None, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("NV Power Mode:"):
            name = line.split(":", 1)[1].strip()
        elif line.isdigit():
            mode = int(line)
    return mode, name


class BoardSettings(object):
    """A context manager around one run: ``lock_clocks`` and/or ``power_mode`` applied on entry,
    restored on exit (and by stop_all). ``required``: refuse the run when they cannot be applied
    (--lock-clocks, --power-mode); otherwise (--rigorous off a Jetson) record why not."""

    def __init__(self, lock_clocks=False, power_mode=None, required=True, state_dir=None):
        self.lock_clocks = bool(lock_clocks)
        self.power_mode = power_mode
        self.required = required
        self.state_dir = state_dir
        self.record = {"lock_clocks": self.lock_clocks, "power_mode": power_mode, "commands": [],
                       "locked": False, "restored": None}
        self._store_file = None
        self._old_mode = None
        self._done = True
        self._forget = None

    @property
    def wanted(self):
        return self.lock_clocks or self.power_mode is not None

    def __enter__(self):
        if not self.wanted:
            return self
        from ..supervise import on_stop

        self._done = False
        self._forget = on_stop(self.restore)
        try:
            self._apply()
        except BaseException:
            self.restore()
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.restore()
        return False

    def _run(self, argv, what):
        code, out, err = _sudo(argv)
        self.record["commands"].append({"argv": ["sudo", "-n"] + list(argv), "returncode": code})
        if code != 0:
            lines = [l for l in (err or out).strip().splitlines() if l.strip()]
            detail = lines[-1][:300] if lines else "no output"
            if "password" in (err or "").lower() or "terminal is required" in (err or "").lower():
                raise LockRefused("{} needs root: sudo -n refused ({}); {}".format(
                    what, detail, sudoers_hint(self._programs())))
            raise LockRefused("{} failed (exit {}): {}".format(what, code, detail))
        return out

    def _programs(self):
        found = [find_jetson_clocks() or "/usr/bin/jetson_clocks"]
        if self.power_mode is not None:
            found.append(find_nvpmodel() or "/usr/sbin/nvpmodel")
        return found

    def _apply(self):
        clocks = find_jetson_clocks()
        nvpmodel = find_nvpmodel() if self.power_mode is not None else None
        missing = [name for name, path in (("jetson_clocks", clocks), ("nvpmodel", nvpmodel))
                   if path is None and (name == "jetson_clocks" or self.power_mode is not None)]
        if missing:
            why = "no {} on this machine (not a Jetson)".format(" or ".join(missing))
            if self.required:
                raise LockRefused("--lock-clocks / --power-mode need {}: {}".format(" and ".join(missing), why))
            self.record["skipped"] = why
            self._done = True
            return
        handle, self._store_file = tempfile.mkstemp(prefix="edgetrt-clocks-", suffix=".conf", dir=self.state_dir)
        os.close(handle)
        self._run([clocks, "--store", self._store_file], "jetson_clocks --store")
        self.record["stored_to"] = self._store_file
        if self.power_mode is not None:
            self._old_mode, old_name = parse_nvpmodel_query(self._run([nvpmodel, "-q"], "nvpmodel -q"))
            self.record["power_mode_before"] = {"id": self._old_mode, "name": old_name}
            if self._old_mode != self.power_mode:
                self._run([nvpmodel, "-m", str(int(self.power_mode))], "nvpmodel -m {}".format(self.power_mode))
                now, name = parse_nvpmodel_query(self._run([nvpmodel, "-q"], "nvpmodel -q"))
                if now != self.power_mode:
                    raise LockRefused("nvpmodel -m {} did not take effect (nvpmodel -q says mode {}); "
                                      "some modes need a reboot".format(self.power_mode, now))
                self.record["power_mode_set"] = {"id": now, "name": name}
        if self.lock_clocks:
            self._run([clocks], "jetson_clocks")
            self.record["locked"] = True

    def restore(self):
        """Put the power mode and the clocks back (once; later calls do nothing)."""
        if self._done:
            return self.record
        self._done = True
        if self._forget is not None:
            self._forget()
        errors = []
        if self._old_mode is not None and self.record.get("power_mode_set"):
            try:
                self._run([find_nvpmodel(), "-m", str(self._old_mode)], "nvpmodel -m {}".format(self._old_mode))
            except LockRefused as exc:
                errors.append(str(exc))
        if self._store_file and self.record.get("stored_to"):
            try:
                self._run([find_jetson_clocks(), "--restore", self._store_file], "jetson_clocks --restore")
            except LockRefused as exc:
                errors.append(str(exc))
        if self._store_file:
            try:
                os.remove(self._store_file)
            except OSError:
                pass
        self.record["restored"] = not errors
        if errors:
            self.record["restore_errors"] = errors
        return self.record
