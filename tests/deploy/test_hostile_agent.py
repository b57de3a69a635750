"""A device whose "agent" answers garbage, through the real CLI and a real sshd on loopback.

The device file's ``python:`` names a stand-in (a double of a broken or hostile device, named as
such): for the command under test it prints a crafted answer; otherwise it hands over to the real
agent. Every case must end in one clear line naming the device (or a report with the bad values
made harmless), never a traceback, a hang, raw escape sequences on the terminal, non-JSON output,
or a host that balloons in memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from deploy_cli import tiny_onnx

pytestmark = [pytest.mark.ssh]

QUICK = ("--backend", "onnxruntime", "--precision", "fp32", "--duration", "0.1", "--iterations", "2",
         "--warmup-ms", "0")
MEMORY_WRAPPER = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True); "
                  "sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
                  "sys.stderr.write(p.stderr.decode('utf-8', 'replace')); sys.exit(p.returncode)")

# The crafted answers: (the agent command they replace, what is printed).
ANSWERS = {
    "deep_nesting": ("probe", '{"protocol": 2, "kind": "probe", "facts": ' + "[" * 50000 + "]" * 50000 + "}"),
    "probe_without_facts": ("probe", '{"protocol": 2, "kind": "probe"}'),
    "facts_a_string": ("probe", '{"protocol": 2, "kind": "probe", "facts": "x"}'),
    "runs_of_lists": ("run", '{"protocol": 2, "kind": "run", "runs": [[1, 2]]}'),
    "runs_a_string": ("run", '{"protocol": 2, "kind": "run", "runs": "abc"}'),
    "wrong_types": ("run", '{"protocol": 2, "kind": "run", "runs": [{"backend": "onnxruntime", "precision": "fp32",'
                           ' "batch": 1, "status": "ok", "steady": "very fast"}]}'),
    "other_protocol": ("probe", '{"protocol": 99, "kind": "probe", "facts": {"facts": {}}}'),
}


def fake_agent(tmp_path: Path, command: str, answer: str) -> Path:
    """A stand-in interpreter for the device file: crafted answer for ``command``, else the real agent."""
    body = tmp_path / "answer.txt"
    body.write_text(answer)
    script = tmp_path / "fake-python"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, subprocess, sys
        def answer():
            with open({str(body)!r}, "rb") as fh:
                sys.stdout.buffer.write(fh.read() + b"\\n")
            sys.exit(0)
        asked = sys.argv[2] if len(sys.argv) > 2 else None
        if asked == {command!r} or (asked == "session" and {command!r} == "probe"):
            if asked == "run":
                sys.stdin.buffer.readline()
            answer()
        if asked == "session" and {command!r} == "run":
            # the real session's probe and store answer, then the crafted run document
            real = subprocess.Popen([{sys.executable!r}] + sys.argv[1:], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE)
            for forward in (True, False):  # the probe, then the store's answer; the job not sent
                sys.stdout.buffer.write(real.stdout.readline())
                sys.stdout.buffer.flush()
                line = sys.stdin.buffer.readline()
                if not line:
                    sys.exit(0)
                if forward:
                    real.stdin.write(line)
                    real.stdin.flush()
            real.kill()
            answer()
        os.execv({sys.executable!r}, [{sys.executable!r}] + sys.argv[1:])
        """))
    script.chmod(0o755)
    return script


def deploy(deployer, sshd, tmp_path, model, *extra, memory=False):
    deployer.device_file(sshd)
    argv = [sys.executable, "-m", "edgetrt", "deploy", str(model), "--device", "loopback", "--host", sshd.address,
            "--known-hosts", str(sshd.known_hosts), "--ssh-config", str(deployer.ssh_config(sshd.client_key)),
            "--remote-root", str(tmp_path / "device" / ".edgetrt"), *QUICK, *extra]
    if memory:
        argv = [sys.executable, "-c", MEMORY_WRAPPER, *argv]
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=deployer.env, timeout=300)
    return proc, time.monotonic() - started


def one_error_line(proc) -> str:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tiny_onnx(tmp_path_factory.mktemp("model") / "tiny.onnx")


@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_a_malformed_answer_is_one_line_naming_the_device(case, sshd, deployer, tmp_path, model):
    command, answer = ANSWERS[case]
    deployer.python = str(fake_agent(tmp_path, command, answer))
    proc, seconds = deploy(deployer, sshd, tmp_path, model)
    line = one_error_line(proc)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert sshd.address in line, line
    assert seconds < 60


def test_nan_and_escape_sequences_never_reach_the_terminal_or_the_json(sshd, deployer, tmp_path, model):
    result = {"backend": "onnxruntime", "precision": "fp32", "batch": 1, "status": "error",
              "first_run_ms": float("nan"), "peak_memory_mb": float("inf"),
              "message": "\x1b]0;owned\x07\x1b[31mred\x1b[0m and a \x1b[2J clear-screen"}
    answer = json.dumps({"protocol": 2, "kind": "run", "runs": [result]})  # json.dumps writes NaN/Infinity
    assert "NaN" in answer
    deployer.python = str(fake_agent(tmp_path, "run", answer))
    as_json, _ = deploy(deployer, sshd, tmp_path, model, "--json")
    assert as_json.returncode == 1, as_json.stderr[-2000:]  # a complete report; the run did not end ok
    def refuse(name):
        raise AssertionError(f"{name} in --json output: not JSON")

    doc = json.loads(as_json.stdout, parse_constant=refuse)  # strict JSON: no NaN or Infinity tokens
    run = doc["runs"][0]
    assert run["first_run_ms"] is None and run["peak_memory_mb"] is None
    assert "\x1b" not in as_json.stdout and "\\\\x1b" in as_json.stdout
    assert any("NaN" in note for note in run["notes"])
    table, _ = deploy(deployer, sshd, tmp_path, model)
    assert table.returncode == 1
    assert "\x1b" not in table.stdout + table.stderr and "\x07" not in table.stdout + table.stderr
    assert "red" in table.stdout


def test_a_ten_megabyte_message_is_cut_and_the_table_renders_at_once(sshd, deployer, tmp_path, model):
    result = {"backend": "onnxruntime", "precision": "fp32", "batch": 1, "status": "error",
              "message": "A" * (10 << 20)}
    deployer.python = str(fake_agent(tmp_path, "run", json.dumps({"protocol": 2, "kind": "run", "runs": [result]})))
    proc, seconds = deploy(deployer, sshd, tmp_path, model)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert len(proc.stdout) < 100_000 and "more characters" in proc.stdout
    assert seconds < 60


def test_a_gigabyte_of_output_is_refused_and_the_host_stays_small(sshd, deployer, tmp_path, model):
    script = tmp_path / "flood-python"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import os, sys
        if len(sys.argv) > 2 and sys.argv[2] in ("probe", "session"):
            block = b"x" * (1 << 20)
            try:
                for _ in range(1024):
                    sys.stdout.buffer.write(block)
            except (BrokenPipeError, OSError):
                pass
            sys.exit(0)
        os.execv({sys.executable!r}, [{sys.executable!r}] + sys.argv[1:])
        """))
    script.chmod(0o755)
    deployer.python = str(script)
    proc, seconds = deploy(deployer, sshd, tmp_path, model, memory=True)
    line = one_error_line(proc)
    assert proc.returncode == 3 and "MiB of output" in line, line
    peak_mb = int(proc.stdout.strip().splitlines()[-1]) / 1024
    assert peak_mb < 300, peak_mb
    print(f"\n{line}\nhost peak RSS {peak_mb:.0f} MB, {seconds:.1f} s")
