"""known_hosts as OpenSSH reads it: markers, patterns, broken lines; against real sshd servers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
from pathlib import Path

import pytest

from sshd_server import keygen, public_line, ssh_transport

from edgetrt.device import known_hosts
from edgetrt.errors import HostKeyError

pytestmark = pytest.mark.ssh


def fingerprint(key: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", f"{key}.pub"],
                         check=True, capture_output=True, text=True).stdout
    return out.split()[1]


def one_line(exc) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def connect(server, known: Path, **kwargs):
    with ssh_transport(server, known_hosts=known, **kwargs) as t:
        return t.run(["true"]).ok


# ---- the parser, pure ------------------------------------------------------------------------

def test_patterns_match_as_openssh_does():
    m = known_hosts.host_matches
    assert m("jetson", "jetson") and m("JETSON", "jetson") and m("jet*", "jetson")
    assert m("a,b,[127.0.0.1]:2222", "[127.0.0.1]:2222")
    assert m("*", "anything") and m("jets?n", "jetson") and not m("jets?n", "jetsn")
    assert not m("*,!jetson", "jetson")  # a negation wins over any positive match
    assert not m("!jetson", "other")     # a negation alone matches nothing
    assert not m("jetson", "[jetson]:2222")  # another port is another name
    salt = os.urandom(20)
    digest = hmac.new(salt, b"[10.0.0.2]:22", hashlib.sha1).digest()
    hashed = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    assert m(hashed, "[10.0.0.2]:22") and not m(hashed, "10.0.0.2")


def test_wildcards_take_linear_time_on_hostile_patterns():
    import time

    started = time.monotonic()
    assert not known_hosts.wildcard_match("*a" * 200 + "b", "a" * 250)
    assert time.monotonic() - started < 1.0  # a regular expression takes exponential time here


def test_broken_lines_are_skipped_and_markers_kept(tmp_path):
    good = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519" + b"k" * 36).decode()
    text = "\n".join([
        "# a comment", "",
        f"@revoked * ssh-ed25519 {good}",
        f"@cert-authority *.lan ssh-ed25519 {good} ca",
        "@bogus host ssh-ed25519 " + good,
        "host ssh-ed25519 AAAA=B",        # "Incorrect padding" for paramiko
        "host ssh-ed25519",               # too few fields
        f"host sk-ssh-ed25519@openssh.com {good}",  # a type paramiko cannot load: still a key
        f"host,other ssh-ed25519 {good} comment words",
    ])
    lines = known_hosts.parse(tmp_path / "kh", text)
    assert [(k.line, k.marker, k.key_type) for k in lines] == [
        (3, "@revoked", "ssh-ed25519"), (4, "@cert-authority", "ssh-ed25519"),
        (8, None, "sk-ssh-ed25519@openssh.com"), (9, None, "ssh-ed25519")]
    found = known_hosts.lookup(lines, "host")
    assert len(found.revoked) == 1 and found.authorities == [] and len(found.keys) == 2
    assert found.key_types == {"sk-ssh-ed25519@openssh.com", "ssh-ed25519"}


# ---- against sshd ----------------------------------------------------------------------------

def test_a_revoked_key_is_refused_even_when_trusting_new_hosts(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts.read_text() + f"@revoked * {public_line(sshd.host_key)}\n")
    before = known.read_text()
    for trust in (False, True):
        with pytest.raises(HostKeyError) as exc:
            connect(sshd, known, trust_new_host=trust)
        text = one_line(exc)
        assert text.startswith(f"host key for [127.0.0.1]:{sshd.port} is REVOKED ({known}:2 marks it")
        assert fingerprint(sshd.host_key) in text
    assert known.read_text() == before


def test_a_revoked_other_key_does_not_refuse_this_one(sshd, tmp_path):
    other = keygen(tmp_path / "old_host_key")
    known = tmp_path / "known_hosts"
    known.write_text(f"@revoked * {public_line(other)}\n" + sshd.known_hosts.read_text())
    assert connect(sshd, known)


def test_cert_authority_lines_break_nothing(sshd, tmp_path):
    ca = keygen(tmp_path / "ca")
    known = tmp_path / "known_hosts"
    known.write_text(f"@cert-authority * {public_line(ca)}\n" + sshd.known_hosts.read_text())
    assert connect(sshd, known)  # the plain key line is used as before

    only_ca = tmp_path / "only_ca"
    only_ca.write_text(f"@cert-authority * {public_line(ca)}\n")
    with pytest.raises(HostKeyError) as exc:
        connect(sshd, only_ca)
    text = one_line(exc)
    assert "is not known" in text and "edgetrt does not check host certificates" in text
    assert f"{only_ca}:1 trusts a certificate authority" in text
    assert connect(sshd, only_ca, trust_new_host=True)  # no plain key at all: a new host
    assert only_ca.read_text().splitlines()[1] == f"[127.0.0.1]:{sshd.port} {public_line(sshd.host_key)}"


def test_a_switch_of_key_type_is_a_changed_key_even_when_trusting(sshd, tmp_path):
    """known_hosts knows the host only by an RSA key; the server offers ed25519: refused."""
    rsa = keygen(tmp_path / "host_rsa", "rsa")
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {public_line(rsa)}\n")
    before = known.read_text()
    for trust in (False, True):
        with pytest.raises(HostKeyError) as exc:
            connect(sshd, known, trust_new_host=trust)
        text = one_line(exc)
        assert "CHANGED" in text and fingerprint(rsa) in text and fingerprint(sshd.host_key) in text
        assert text.index(fingerprint(rsa)) < text.index(fingerprint(sshd.host_key))
        assert "expected ssh-rsa" in text and "got ssh-ed25519" in text
    assert known.read_text() == before


def test_a_host_with_two_key_types_is_asked_for_the_known_one(fresh_sshd, tmp_path):
    """Server has RSA and ed25519; known_hosts only RSA: RSA (rsa-sha2-*) is negotiated, not ed25519."""
    rsa = keygen(tmp_path / "host_rsa", "rsa")
    server = fresh_sshd(extra_config=f"HostKey {rsa}")
    known = tmp_path / "known_hosts"
    known.write_text(f"{server.known_hosts_name} {public_line(rsa)}\n")
    assert connect(server, known)
    # and the other way round: only the ed25519 key known
    known.write_text(f"{server.known_hosts_name} {public_line(server.host_key)}\n")
    assert connect(server, known)


def test_negated_and_wildcard_lines_apply_to_the_right_hosts(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:*,![127.0.0.1]:{sshd.port} {public_line(sshd.host_key)}\n")
    with pytest.raises(HostKeyError, match="is not known"):
        connect(sshd, known)
    known.write_text(f"[127.0.0.?]:* {public_line(sshd.host_key)}\n")
    assert connect(sshd, known)


def test_a_known_hosts_fifo_is_one_line_not_a_hang(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    os.mkfifo(known)
    with pytest.raises(HostKeyError) as exc:
        connect(sshd, known)
    assert "is a named pipe (FIFO)" in one_line(exc)
