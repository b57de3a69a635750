"""An unreachable device and a refused key: one clear line each through `edgetrt deploy`."""

from __future__ import annotations

import pytest

from deploy_cli import keygen_stranger, tiny_onnx
from sshd_server import free_port

pytestmark = pytest.mark.ssh

MEASURE = ("--backend", "onnxruntime", "--duration", "0.1", "--iterations", "3")


@pytest.fixture
def model(tmp_path):
    return tiny_onnx(tmp_path / "models" / "tiny.onnx")


@pytest.mark.parametrize("json_out", [False, True])
def test_closed_port_is_one_clear_line(sshd, deployer, model, tmp_path, json_out):
    port = free_port()  # nothing listens there
    deployer.device_file(sshd)
    failed = deployer.run(str(model), None, host=f"{sshd.user}@127.0.0.1:{port}",
                          known_hosts=sshd.known_hosts, key=sshd.client_key,
                          remote_root=tmp_path / "device" / ".edgetrt", extra=MEASURE,
                          json_out=json_out)
    line = failed.error_line()
    assert line == f"error: cannot connect to {sshd.user}@127.0.0.1:{port}: connection refused"
    assert "hint: is sshd running" in failed.proc.stderr
    assert not (tmp_path / "device").exists()


def test_wrong_key_is_one_clear_line(sshd, deployer, model, tmp_path):
    stranger = keygen_stranger(tmp_path)
    failed = deployer.run(str(model), sshd, remote_root=tmp_path / "device" / ".edgetrt",
                          key=stranger, extra=MEASURE)
    line = failed.error_line()
    assert line.startswith(f"error: cannot log in to {sshd.user}@127.0.0.1:{sshd.port}: ")
    assert "accepted none of the 1 key(s) offered" in line
    assert "ssh-copy-id" in failed.proc.stderr  # the hint
    assert not (tmp_path / "device").exists()
    secret = stranger.read_text().split("\n")[1]  # a line of the private key: never shown
    assert secret not in failed.proc.stderr and secret not in failed.proc.stdout
