"""`edgetrt deploy mobilenet_v2 --device nano` against a stock-JetPack simulation over real OpenSSH:
the device's python3 is CPython 3.6 with JetPack's numpy 1.13.3, there is no TensorRT Python module,
no PyCUDA and no cuda-python, and trtexec is a STAND-IN (tests/agent/trtexec_standin.py) that prints
the real Jetson Nano capture C27 and writes an engine file. The TensorRT row must come back ok with
trtexec's own figures; the second deploy finds the engine cached."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sshd_server import SSHServer

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "agent"))
from trtexec_standin import C27_NANO_BUILD, C28_NANO_LOAD, write_standin  # noqa: E402

pytestmark = [pytest.mark.ssh, pytest.mark.slow]


@pytest.fixture
def jetpack_device(tmp_path, python36_jetpack):
    """A loopback sshd whose sessions find the trtexec stand-in on PATH, as JetPack's is."""
    standin = write_standin(tmp_path / "trtexec", python36_jetpack, build_log=C27_NANO_BUILD, load_log=C28_NANO_LOAD)
    path = f"{Path(standin).parent}:/usr/local/bin:/usr/bin:/bin"
    server = SSHServer.start(tmp_path / "sshd", extra_config=f"SetEnv PATH={path}\n")
    yield server, standin
    server.stop()


def deploy(deployer, server, tmp_path, python):
    deployer.python = python
    deployer.device_file(server, name="loopback", profile="nano")
    argv = [sys.executable, "-m", "edgetrt", "deploy", "mobilenet_v2", "--device", "loopback",
            "--host", server.address, "--known-hosts", str(server.known_hosts),
            "--ssh-config", str(deployer.ssh_config(server.client_key)),
            "--remote-root", str(tmp_path / "nano" / ".edgetrt"), "--weights", "random",
            "--duration", "1", "--iterations", "10", "--json"]
    return subprocess.run(argv, capture_output=True, text=True, env=deployer.env, timeout=900)


def test_deploy_to_a_stock_jetpack_nano_builds_with_trtexec_then_finds_it_cached(
        jetpack_device, deployer, tmp_path, python36_jetpack):
    server, standin = jetpack_device
    first = deploy(deployer, server, tmp_path, python36_jetpack)
    report = json.loads(first.stdout) if first.stdout.startswith("{") else {}
    assert first.returncode == 0, [(r["status"], r["message"]) for r in report.get("runs", [])] or first.stderr[-3000:]
    probe = report["device"]["probe"]["facts"]
    assert probe["python"]["value"].startswith("3.6")
    assert probe["tensorrt_path"]["value"]["path"] == "trtexec", probe["tensorrt_path"]
    [run] = report["runs"]
    assert (run["backend"], run["precision"], run["status"]) == ("tensorrt", "fp16", "ok"), run["message"]
    assert run["engine"] == "built" and run["facts"]["path"] == "trtexec"
    assert run["build_ms"] > 0 and run["first_run_ms"] > 0
    assert run["steady"]["fps"]["median"] > 0 and run["steady"]["latency_ms"]["median"] > 0
    assert run["cold_start"]["source"] == "trtexec"
    # trtexec's own figures, from the real captures: "Engine built in 184.708 sec." (C27) and the
    # load run's "Latency: ... median = 40.6337 ms" (C28), not this machine's timings.
    assert run["build_ms"] == pytest.approx(184708.0)
    assert run["steady"]["latency_ms"]["median"] == pytest.approx(40.6337)

    second = deploy(deployer, server, tmp_path, python36_jetpack)
    assert second.returncode == 0, second.stderr[-3000:]
    [again] = json.loads(second.stdout)["runs"]
    assert again["status"] == "ok" and again["engine"] == "cached"
    assert len(standin.builds()) == 1  # one build for two deploys

    table = subprocess.run([sys.executable, "-m", "edgetrt", "deploy", "mobilenet_v2", "--device", "loopback",
                            "--host", server.address, "--known-hosts", str(server.known_hosts),
                            "--ssh-config", str(deployer.ssh_config(server.client_key)),
                            "--remote-root", str(tmp_path / "nano" / ".edgetrt"), "--weights", "random",
                            "--duration", "1"], capture_output=True, text=True, env=dict(deployer.env, COLUMNS="80"),
                           timeout=900)
    assert table.returncode == 0, table.stderr[-2000:]
    row = next(line for line in table.stdout.splitlines() if line.startswith("tensorrt fp16 b1"))
    # every column filled from trtexec's figures but p90 and p95: trtexec 8.0.1 (C28) prints only
    # its percentile(99%), and a figure it did not print is shown as not measured
    cells = row.split()
    # cells: the label (3 words), status, first, p50, p90, p95, p99, fps, peak
    assert cells[6:8] == ["—", "—"] and "—" not in cells[:6] + cells[8:], row
    assert "engine cached" in table.stdout
