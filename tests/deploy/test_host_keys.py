"""Host keys through `edgetrt deploy`: unknown → refused, --trust-new-host → recorded, changed → refused."""

from __future__ import annotations

import pytest

from deploy_cli import fingerprint_of, tiny_onnx
from sshd_server import public_line

pytestmark = pytest.mark.ssh

MEASURE = ("--backend", "onnxruntime", "--duration", "0.1", "--iterations", "3", "--warmup-ms", "10")


@pytest.fixture
def model(tmp_path):
    return tiny_onnx(tmp_path / "models" / "tiny.onnx")


def test_unknown_host_is_refused_then_trusted_and_recorded(sshd, deployer, model, tmp_path):
    known = tmp_path / "ssh" / "known_hosts"
    root = tmp_path / "device" / ".edgetrt"
    refused = deployer.run(str(model), sshd, remote_root=root, known_hosts=known, extra=MEASURE)
    line = refused.error_line()
    assert "not known" in line and fingerprint_of(sshd.host_key) in line, line
    assert f"[127.0.0.1]:{sshd.port}" in line
    assert "--trust-new-host" in refused.proc.stderr  # the hint says how to go on
    assert not known.exists()
    assert not root.exists()  # refused before anything was written

    trusted = deployer.run(str(model), sshd, remote_root=root, known_hosts=known,
                           extra=MEASURE + ("--trust-new-host",))
    assert trusted.ok, trusted.describe()
    assert trusted.report["runs"][0]["status"] == "ok", trusted.report["runs"]
    assert known.read_text() == f"[127.0.0.1]:{sshd.port} {public_line(sshd.host_key)}\n"

    again = deployer.run(str(model), sshd, remote_root=root, known_hosts=known, extra=MEASURE)
    assert again.ok, again.describe()  # recorded: no flag needed any more
    assert again.report["transfer"]["bytes_sent"] == 0
    assert len(known.read_text().splitlines()) == 1


def test_changed_host_key_is_refused_with_both_fingerprints_even_when_trusting(
        fresh_sshd, deployer, model, tmp_path):
    first = fresh_sshd()
    port, known, old = first.port, first.known_hosts, fingerprint_of(first.host_key)
    first.stop()
    impostor = fresh_sshd(port=port, client_key=first.client_key)  # same address, new host key
    new = fingerprint_of(impostor.host_key)
    assert old != new
    before = known.read_text()
    root = tmp_path / "device" / ".edgetrt"
    for flags in ((), ("--trust-new-host",)):
        refused = deployer.run(str(model), impostor, remote_root=root, known_hosts=known,
                               extra=MEASURE + flags)
        line = refused.error_line()
        assert "CHANGED" in line and old in line and new in line, line
        assert line.index(old) < line.index(new)  # expected first, then presented
        assert "ssh-keygen -R" in refused.proc.stderr
    assert known.read_text() == before
    assert not root.exists()
