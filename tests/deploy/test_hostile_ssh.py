"""Unlucky and hostile SSH situations through `edgetrt deploy`: one line each, never a traceback.

known_hosts with @revoked, @cert-authority and a key-type switch; a server that never sends its
banner; a 5,000-character --host; a ProxyCommand in ~/.ssh/config (honoured, not ignored).
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from deploy_cli import fingerprint_of, tiny_onnx
from sshd_server import keygen, public_line

pytestmark = pytest.mark.ssh

MEASURE = ("--backend", "onnxruntime", "--duration", "0.2", "--iterations", "2", "--warmup-ms", "0")
PROXY = Path(__file__).resolve().parents[1] / "device" / "proxy_pipe.py"


@pytest.fixture
def model(tmp_path):
    return tiny_onnx(tmp_path / "models" / "tiny.onnx")


def no_library_noise(deploy) -> None:
    """stderr holds our `error:`/`hint:` lines only: no traceback, no paramiko log record."""
    for line in deploy.proc.stderr.splitlines():
        assert line.startswith(("error:", "hint:")), deploy.proc.stderr[-3000:]


def test_a_revoked_host_key_is_refused_in_one_line(sshd, deployer, model, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts.read_text() + f"@revoked * {public_line(sshd.host_key)}\n")
    root = tmp_path / "device" / ".edgetrt"
    for flags in ((), ("--trust-new-host",)):
        refused = deployer.run(str(model), sshd, remote_root=root, known_hosts=known, extra=MEASURE + flags)
        line = refused.error_line()
        assert "is REVOKED" in line and fingerprint_of(sshd.host_key) in line, line
        no_library_noise(refused)
    assert not root.exists()


def test_cert_authority_lines_do_not_break_a_deploy(sshd, deployer, model, tmp_path):
    ca = keygen(tmp_path / "ca")
    known = tmp_path / "known_hosts"
    known.write_text(f"@cert-authority *.lan,127.0.0.1 {public_line(ca)}\n"
                     f"@cert-authority * {public_line(ca)}\n" + sshd.known_hosts.read_text())
    deploy = deployer.run(str(model), sshd, remote_root=tmp_path / "device" / ".edgetrt", known_hosts=known,
                          extra=MEASURE)
    assert deploy.ok, deploy.describe()
    assert deploy.report["runs"][0]["status"] == "ok"


def test_a_key_type_switch_is_a_changed_key_even_with_trust_new_host(sshd, deployer, model, tmp_path):
    rsa = keygen(tmp_path / "old_rsa", "rsa")
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {public_line(rsa)}\n")
    refused = deployer.run(str(model), sshd, remote_root=tmp_path / "device" / ".edgetrt", known_hosts=known,
                           extra=MEASURE + ("--trust-new-host",))
    line = refused.error_line()
    assert "CHANGED" in line and fingerprint_of(rsa) in line and fingerprint_of(sshd.host_key) in line
    assert known.read_text() == f"[127.0.0.1]:{sshd.port} {public_line(rsa)}\n"  # nothing recorded
    no_library_noise(refused)


def test_a_server_that_never_sends_its_banner_is_one_line_without_a_traceback(sshd, deployer, model, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, says nothing
        port = silent.getsockname()[1]
        deployer.device_file(sshd)
        failed = deployer.run(str(model), None, host=f"{sshd.user}@127.0.0.1:{port}",
                              known_hosts=sshd.known_hosts, key=sshd.client_key,
                              remote_root=tmp_path / "device" / ".edgetrt", extra=MEASURE, timeout=120)
    line = failed.error_line()
    assert "SSH handshake failed (no SSH greeting within 10 s)" in line, line
    no_library_noise(failed)


def test_a_5000_character_host_is_one_line(sshd, deployer, model, tmp_path):
    deployer.device_file(sshd)
    failed = deployer.run(str(model), None, host="h" * 5000, known_hosts=sshd.known_hosts,
                          key=sshd.client_key, remote_root=tmp_path / "device" / ".edgetrt", extra=MEASURE)
    line = failed.error_line()
    assert failed.proc.returncode == 2
    assert line.startswith("error: --host is 5000 characters long") and len(line) < 200, line
    no_library_noise(failed)


def test_a_proxy_command_in_the_ssh_config_is_honoured(sshd, deployer, model, tmp_path):
    log = tmp_path / "proxy.log"
    config = tmp_path / "ssh_config"
    config.write_text(f"Host jetson-behind-proxy\n  HostName jetson.invalid\n  Port {sshd.port}\n"
                      f"  User {sshd.user}\n  IdentityFile {sshd.client_key}\n"
                      f"  ProxyCommand {sys.executable} {PROXY} 127.0.0.1 %p {log}\n")
    known = tmp_path / "known_hosts"
    known.write_text(f"[jetson.invalid]:{sshd.port} {public_line(sshd.host_key)}\n")
    deployer.device_file(sshd)
    deploy = deployer.run(str(model), None, host="jetson-behind-proxy", known_hosts=known, ssh_config=config,
                          remote_root=tmp_path / "device" / ".edgetrt", extra=MEASURE)
    assert deploy.ok, deploy.describe()
    assert deploy.report["runs"][0]["status"] == "ok"
    assert deploy.report["device"]["address"] == f"{sshd.user}@jetson.invalid:{sshd.port}"
    assert log.read_text().splitlines() == [f"127.0.0.1 {sshd.port}"]  # one connection, through it
