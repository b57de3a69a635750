"""Ctrl-C during a measurement stops the work on both ends: the host says "interrupted" and exits
130; five seconds later no agent and no measuring child is alive, and the store is clean."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deploy_cli import REPO, check_store, tiny_onnx

pytestmark = [pytest.mark.ssh]

# A measurement that would last a minute: the interrupt lands in the middle of it.
LONG = ("--backend", "onnxruntime", "--precision", "fp32", "--duration", "60", "--warmup-ms", "0",
        "--timeout", "300")


def agent_processes(root: Path) -> list[str]:
    """Live processes running this test's agent or measuring child: their command line names the
    agent bundle in ``root``'s store (``run``, ``session`` and ``measure``; a measuring child the
    session forked has its agent's command line and the name edgetrt-measure)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if str(root / "store") in cmdline and any(w in cmdline for w in (" measure ", " run --job", " session ")):
            found.append(f"{pid} ({name}): {cmdline}")
    return found


def wait_for_measuring(root: Path, timeout: float = 120) -> None:
    """Until the agent's measuring child has its scratch directory under the root's tmp/."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.name.startswith("edgetrt-run-") for p in (root / "tmp").glob("*")):
            time.sleep(1.0)  # well into the timed loop
            return
        time.sleep(0.1)
    raise AssertionError(f"no measurement started under {root}")


def interrupt_and_check(argv, env, root: Path, forked: bool = False):
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        wait_for_measuring(root)
        measuring = agent_processes(root)
        assert measuring, "the agent should be measuring now"
        # the measuring child, whether started as `measure` or forked by the agent's session
        assert any(" measure " in p or "(edgetrt-measure)" in p for p in measuring), measuring
        if forked:  # the redeploy's cell runs in the child its agent's session forked
            assert any("(edgetrt-measure)" in p and " session " in p for p in measuring), measuring
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    time.sleep(5)
    assert proc.returncode == 130, err[-2000:]
    assert err.strip().splitlines()[-1] == "interrupted", err[-2000:]
    assert "Traceback" not in err
    assert agent_processes(root) == []
    check_store(root)
    leftovers = [p.name for p in (root / "tmp").iterdir()] if (root / "tmp").is_dir() else []
    assert not [n for n in leftovers if n.startswith("edgetrt-run-")], leftovers


# A short deploy first: the interrupted one then finds everything in place, and its agent session
# runs the cell in the child it forked before the probe (not a `run --job` command of its own).
SHORT = ("--backend", "onnxruntime", "--precision", "fp32", "--duration", "0", "--iterations", "1",
         "--warmup-ms", "0")


def deployed_before(argv, env):
    quick = [a for a in argv[:argv.index("--backend")]] + list(SHORT) + argv[argv.index("--timeout") + 2:]
    done = subprocess.run(quick, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("redeploy", [False, True], ids=["first", "redeploy"])
def test_sigint_to_a_local_deploy_stops_the_agent_and_its_child(tmp_path, redeploy):
    model = tiny_onnx(tmp_path / "tiny.onnx")
    home = tmp_path / "home"
    env = dict(os.environ, PYTHONPATH=str(REPO), HOME=str(home), EDGETRT_CACHE=str(tmp_path / "cache"))
    argv = [sys.executable, "-m", "edgetrt", "deploy", str(model), "--device", "local", *LONG]
    if redeploy:
        deployed_before(argv, env)
    interrupt_and_check(argv, env, home / ".edgetrt", forked=redeploy)


@pytest.mark.parametrize("redeploy", [False, True], ids=["first", "redeploy"])
def test_sigint_to_an_ssh_deploy_stops_the_remote_agent(sshd, deployer, tmp_path, redeploy):
    model = tiny_onnx(tmp_path / "tiny.onnx")
    root = tmp_path / "device" / ".edgetrt"
    deployer.device_file(sshd)
    argv = [sys.executable, "-m", "edgetrt", "deploy", str(model), "--device", "loopback", "--host", sshd.address,
            "--known-hosts", str(sshd.known_hosts), "--ssh-config", str(deployer.ssh_config(sshd.client_key)),
            "--remote-root", str(root), *LONG]
    if redeploy:
        deployed_before(argv, deployer.env)
    interrupt_and_check(argv, deployer.env, root, forked=redeploy)
