"""--lock-clocks and --power-mode through the real agent (``python -m edgetrt.agent run``) with
STAND-IN ``sudo``, ``jetson_clocks`` and ``nvpmodel`` programs put first on PATH by the test.

The stand-ins are not the real tools: they keep the board's "state" (clocks dynamic or locked,
the power mode) in a JSON file and log every call, so the tests see what the agent ran, in which
order, and what state the "board" was left in — after a normal run, a failure, a timeout, SIGINT
and the host going away (end of stdin). The agent finds them the way it finds the real ones
(PATH, then the JetPack paths); nothing in the agent knows they are stand-ins.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SUDO = '''#!{python}
# STAND-IN for sudo: logs, refuses like `sudo -n` without a NOPASSWD rule when told to, else runs the command.
import json, os, sys
args = sys.argv[1:]
with open(os.environ["STANDIN_LOG"], "a") as fh:
    fh.write(json.dumps(["sudo"] + args) + "\\n")
if args[:1] != ["-n"]:
    sys.stderr.write("stand-in sudo: edgetrt must never ask for a password (no -n)\\n"); sys.exit(1)
if os.environ.get("SUDO_STANDIN_REFUSE"):
    sys.stderr.write("sudo: a password is required\\n"); sys.exit(1)
os.execv(args[1], args[1:])
'''

# What every board stand-in starts with: it loads the board (a JSON state file) and logs its call
# with the state it found (`{shown}`: the key that program changes).
BOARD_STANDIN = '''#!{{python}}
# STAND-IN for {name}: {what}
import json, os, sys
path = os.environ["STANDIN_STATE"]
state = json.load(open(path))
args = sys.argv[1:]
def save(state):  # renamed into place: the test reads the board while the agent runs
    with open(path + ".new", "w") as fh:
        json.dump(state, fh)
    os.replace(path + ".new", path)
with open(os.environ["STANDIN_LOG"], "a") as fh:
    fh.write(json.dumps(["{name}"] + args + [state["{shown}"]]) + "\\n")
'''

JETSON_CLOCKS = BOARD_STANDIN.format(name="jetson_clocks", shown="clocks", what=(
    'the "board" is a JSON state file; --store/--restore write/read a copy.')) + '''\
if os.environ.get("JETSON_CLOCKS_STANDIN_FAIL") in args:
    sys.stderr.write("stand-in jetson_clocks: told to fail\\n"); sys.exit(1)
if args[:1] == ["--store"]:
    json.dump({{"clocks": state["clocks"]}}, open(args[1], "w"))
elif args[:1] == ["--restore"]:
    state["clocks"] = json.load(open(args[1]))["clocks"]
elif args[:1] == ["--show"]:
    gpu = "921600000" if state["clocks"] == "locked" else "76800000"
    print("GPU MinFreq={{}} MaxFreq=921600000 CurrentFreq={{}}".format(gpu, gpu))
    print("EMC MinFreq=204000000 MaxFreq=1600000000 CurrentFreq=1600000000 FreqOverride={{}}".format(
        int(state["clocks"] == "locked")))
    print("NV Power Mode: {{}}".format(["MAXN", "5W"][state["mode"]]))
elif not args:
    state["clocks"] = "locked"
save(state)
'''

NVPMODEL = BOARD_STANDIN.format(name="nvpmodel", shown="mode", what=(
    "-q prints the mode as nvpmodel does, -m N sets it (and, like nvpmodel, resets the clocks to "
    "the mode's defaults).")) + '''\
if args[:1] == ["-q"]:
    print("NV Fan Mode:quiet")
    print("NV Power Mode: {{}}".format(["MAXN", "5W"][state["mode"]]))
    print(state["mode"])
elif args[:1] == ["-m"]:
    state["mode"] = int(args[1])
    state["clocks"] = "dynamic"
save(state)
'''


@pytest.fixture
def board(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("sudo", SUDO), ("jetson_clocks", JETSON_CLOCKS), ("nvpmodel", NVPMODEL)):
        path = bin_dir / name
        path.write_text(text.format(python=sys.executable))
        path.chmod(0o755)
    state = tmp_path / "board.json"
    state.write_text(json.dumps({"clocks": "dynamic", "mode": 0}))
    log = tmp_path / "calls.log"
    log.write_text("")
    env = dict(os.environ, PATH=str(bin_dir) + os.pathsep + os.environ["PATH"], STANDIN_STATE=str(state),
               STANDIN_LOG=str(log), PYTHONPATH=str(REPO))

    class Board(object):
        directory = tmp_path

        def state(self):
            return json.loads(state.read_text())

        def calls(self):
            return [json.loads(line) for line in log.read_text().splitlines()]

        def agent(self, spec, extra_env=None, stop_on_eof=False, **popen):
            job = {"runs": [dict({"backend": "noop", "batch": 1, "warmup_ms": 10, "min_seconds": 0.2}, **spec)],
                   "workdir": str(tmp_path)}
            argv = [sys.executable, "-m", "edgetrt.agent", "run", "--job", "-"] + (["--stop-on-eof"] if stop_on_eof else [])
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=dict(env, **(extra_env or {})), cwd=str(REPO), **popen)
            started.append(proc)
            return proc, job

        def run(self, spec, extra_env=None):
            proc, job = self.agent(spec, extra_env)
            out, err = proc.communicate((json.dumps(job) + "\n").encode(), timeout=120)
            assert proc.returncode == 0, err.decode()
            return json.loads(out.decode().splitlines()[-1])["runs"][0]
    started = []
    yield Board()
    for proc in started:  # a failed test must not leave an agent measuring (and holding the lock)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def names(calls):
    """Each call as 'program args' without the sudo wrapper or the paths."""
    out = []
    for call in calls:
        if call[0] == "sudo":
            continue
        out.append(" ".join([call[0]] + [a if not str(a).startswith("/") else "FILE" for a in call[1:-1]]))
    return out


def test_lock_clocks_stores_locks_measures_and_restores(board):
    result = board.run({"lock_clocks": True})
    assert result["status"] == "ok", result
    assert names(board.calls()) == ["jetson_clocks --store FILE", "jetson_clocks", "jetson_clocks --show",
                                    "jetson_clocks --restore FILE"]
    assert all(call[:2] == ["sudo", "-n"] for call in board.calls() if call[0] == "sudo")
    # --show ran while the clocks were locked: the run records it
    assert result["power"]["jetson_clocks"]["gpu"] == {"min_mhz": 921.6, "max_mhz": 921.6, "cur_mhz": 921.6}
    lock = result["power"]["lock"]
    assert lock["locked"] is True and lock["restored"] is True
    assert board.state() == {"clocks": "dynamic", "mode": 0}
    assert not os.path.exists(lock["stored_to"])  # the stored state is removed once restored


def test_power_mode_is_set_checked_and_put_back(board):
    result = board.run({"lock_clocks": True, "power_mode": 1})
    assert result["status"] == "ok", result
    assert names(board.calls()) == ["jetson_clocks --store FILE", "nvpmodel -q", "nvpmodel -m 1", "nvpmodel -q",
                                    "jetson_clocks", "jetson_clocks --show", "nvpmodel -m 0",
                                    "jetson_clocks --restore FILE"]
    lock = result["power"]["lock"]
    assert lock["power_mode_before"] == {"id": 0, "name": "MAXN"} and lock["power_mode_set"] == {"id": 1, "name": "5W"}
    assert board.state() == {"clocks": "dynamic", "mode": 0}


def test_without_passwordless_sudo_the_run_is_refused_in_one_line_with_the_cure(board):
    result = board.run({"lock_clocks": True}, extra_env={"SUDO_STANDIN_REFUSE": "1"})
    assert result["status"] == "error" and result["steady"] is None
    message = result["message"]
    assert "\n" not in message and "sudo -n refused (sudo: a password is required)" in message
    assert "NOPASSWD: " in message and "jetson_clocks" in message and "/etc/sudoers.d/edgetrt" in message
    assert board.state() == {"clocks": "dynamic", "mode": 0}


def test_show_failing_is_said_and_the_run_goes_on(board):
    result = board.run({"lock_clocks": True}, extra_env={"JETSON_CLOCKS_STANDIN_FAIL": "--show"})
    assert result["status"] == "ok" and "exited 1" in result["power"]["jetson_clocks"]["why"]
    assert board.state() == {"clocks": "dynamic", "mode": 0}


def test_a_restore_that_fails_is_recorded(board):
    result = board.run({"lock_clocks": True}, extra_env={"JETSON_CLOCKS_STANDIN_FAIL": "--restore"})
    lock = result["power"]["lock"]
    assert lock["restored"] is False
    assert "jetson_clocks --restore failed (exit 1): stand-in jetson_clocks: told to fail" in lock["restore_errors"][0]
    assert board.state()["clocks"] == "locked"  # what the stand-in was told: the report says so


def test_restored_after_a_run_that_times_out(board):
    result = board.run({"lock_clocks": True, "power_mode": 1, "min_seconds": 60, "timeout_s": 1.5})
    assert result["status"] == "timeout"
    assert names(board.calls())[-2:] == ["nvpmodel -m 0", "jetson_clocks --restore FILE"]
    assert result["power"]["lock"]["restored"] is True
    assert board.state() == {"clocks": "dynamic", "mode": 0}


def _wait_until_locked(board, proc, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if board.state()["clocks"] == "locked" and any(c[0] == "jetson_clocks" and c[1:2] == ["--show"]
                                                       for c in board.calls()):
            return
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    raise AssertionError("the agent never locked the clocks")


@pytest.mark.parametrize("how", ["SIGINT", "end of stdin"])
def test_restored_after_an_interrupt(board, how):
    proc, job = board.agent({"lock_clocks": True, "power_mode": 1, "min_seconds": 60, "timeout_s": 120},
                            stop_on_eof=True)
    proc.stdin.write((json.dumps(job) + "\n").encode())
    proc.stdin.flush()
    _wait_until_locked(board, proc)
    assert board.state() == {"clocks": "locked", "mode": 1}
    if how == "SIGINT":
        proc.send_signal(signal.SIGINT)
    else:
        proc.stdin.close()  # the host was interrupted or the connection dropped
    proc.wait(30)
    assert proc.returncode == 130
    assert names(board.calls())[-2:] == ["nvpmodel -m 0", "jetson_clocks --restore FILE"]
    assert board.state() == {"clocks": "dynamic", "mode": 0}


def test_lock_clocks_off_a_jetson_says_so(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), PATH="/usr/bin:/bin")  # no jetson_clocks anywhere
    job = {"runs": [{"backend": "noop", "batch": 1, "min_seconds": 0.1, "lock_clocks": True}], "workdir": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "edgetrt.agent", "run", "--job", "-"], input=json.dumps(job).encode(),
                          capture_output=True, env=env, cwd=str(REPO), timeout=120)
    result = json.loads(proc.stdout.decode().splitlines()[-1])["runs"][0]
    assert result["status"] == "error"
    assert "no jetson_clocks on this machine (not a Jetson)" in result["message"]


def test_rigorous_off_a_jetson_records_why_clocks_were_not_locked(tmp_path):
    from edgetrt.agent.power.lock import BoardSettings

    settings = BoardSettings(lock_clocks=True, required=False, state_dir=str(tmp_path))
    with settings:
        pass
    if settings.record.get("skipped") is None:
        pytest.skip("this host has a jetson_clocks on PATH")
    assert settings.record["skipped"] == "no jetson_clocks on this machine (not a Jetson)"
