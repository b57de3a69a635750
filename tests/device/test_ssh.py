"""SSHTransport against real OpenSSH servers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import subprocess
import time
from pathlib import Path

import pytest

from sshd_server import free_port, keygen, public_line, ssh_target, ssh_transport
from tcp_relay import TCPRelay

from edgetrt.device.hostspec import SSHTarget
from edgetrt.device.ssh import SSHTransport
from edgetrt.device.store import DeviceStore, LocalFile
from edgetrt.errors import HostKeyError, TransportError

pytestmark = pytest.mark.ssh


def openssh_fingerprint(key: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", f"{key}.pub"],
                         check=True, capture_output=True, text=True).stdout
    return out.split()[1]


def one_line(exc) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


# ---- commands ------------------------------------------------------------------------------

def test_tricky_argv_arrives_byte_exact_without_injection(sshd, tmp_path):
    pwned = tmp_path / "pwned"
    words = ["a b", "'", '"', "it's \"quoted\"", ";", "x; touch " + str(pwned), f"$(touch {pwned})",
             f"`touch {pwned}`", "line1\nline2", "", " ", "*", "~", "$HOME", "\\", "\t", "-n",
             "|", "&&", ">", "ünïcödé"]
    with ssh_transport(sshd) as t:
        result = t.run(["printf", r"%s\0", *words])
    assert result.ok, result.stderr
    assert result.stdout.split(b"\0")[:-1] == [w.encode() for w in words]
    assert not pwned.exists()


def test_stdin_exit_code_and_stderr(sshd):
    data = bytes(range(256)) * 4000
    with ssh_transport(sshd) as t:
        echoed = t.run(["cat"], stdin=data)
        failed = t.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert echoed.ok and echoed.stdout == data
    assert (failed.exit_code, failed.stdout, failed.stderr, failed.ok) == (3, b"out\n", b"err\n", False)


def test_run_enforces_timeout(sshd):
    with ssh_transport(sshd) as t:
        started = time.monotonic()
        with pytest.raises(TransportError, match="did not finish within 0.5 s"):
            t.run(["sleep", "10"], timeout=0.5)
        assert time.monotonic() - started < 5
        assert t.run(["true"]).ok  # the connection is still usable


def test_opens_lazily_and_reopens_after_close(sshd):
    t = ssh_transport(sshd)
    assert t._transports == []
    assert t.home() == os.path.expanduser("~")
    t.close()
    assert t.run(["echo", "again"]).stdout == b"again\n"
    t.close()


def test_file_operations(sshd, tmp_path):
    local = tmp_path / "local.bin"
    local.write_bytes(os.urandom(100_000))
    remote = str(tmp_path / "remote.bin")
    with ssh_transport(sshd) as t:
        assert t.size(remote) is None
        t.write_bytes(local.read_bytes(), remote)
        assert Path(remote).read_bytes() == local.read_bytes() and t.size(remote) == 100_000
        t.write_bytes(b"new", str(tmp_path / "other"))
        t.rename(str(tmp_path / "other"), remote)  # replaces the existing file
        assert t.read_bytes(remote) == b"new" and t.size(remote) == 3
        t.makedirs(str(tmp_path / "d" / "e" / "f"))
        t.makedirs(str(tmp_path / "d" / "e" / "f"))
        t.symlink(remote, str(tmp_path / "d" / "link"))
        assert os.readlink(tmp_path / "d" / "link") == remote
        t.remove(remote)
        t.remove(remote)
        assert not os.path.exists(remote)
        with pytest.raises(TransportError, match="cannot read"):
            t.read_bytes(str(tmp_path / "missing"))


# ---- host keys -----------------------------------------------------------------------------

def test_unknown_host_is_refused_with_fingerprint_then_trusted_and_recorded(sshd, tmp_path):
    known = tmp_path / "ssh" / "known_hosts"
    with pytest.raises(HostKeyError) as exc:
        ssh_transport(sshd, known_hosts=known).run(["true"])
    text = one_line(exc)
    assert openssh_fingerprint(sshd.host_key) in text
    assert f"[127.0.0.1]:{sshd.port}" in text
    assert "--trust-new-host" in exc.value.hint
    assert not known.exists()

    with ssh_transport(sshd, known_hosts=known, trust_new_host=True) as t:
        assert t.run(["true"]).ok
    assert known.read_text() == f"[127.0.0.1]:{sshd.port} {public_line(sshd.host_key)}\n"
    assert stat.S_IMODE(known.stat().st_mode) == 0o600

    with ssh_transport(sshd, known_hosts=known) as t:  # now known: no flag needed
        assert t.run(["true"]).ok
    assert len(known.read_text().splitlines()) == 1


def test_hashed_known_hosts_entries_are_understood(sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts.read_text())
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(known)], check=True, capture_output=True)
    assert known.read_text().startswith("|1|")
    with ssh_transport(sshd, known_hosts=known) as t:
        assert t.run(["true"]).ok


def test_system_known_hosts_is_consulted(sshd, tmp_path):
    with ssh_transport(sshd, known_hosts=tmp_path / "empty", system_known_hosts=sshd.known_hosts) as t:
        assert t.run(["true"]).ok


def test_changed_host_key_is_always_refused_with_both_fingerprints(fresh_sshd, tmp_path):
    first = fresh_sshd()
    port, known = first.port, first.known_hosts
    old = openssh_fingerprint(first.host_key)
    first.stop()
    impostor = fresh_sshd(port=port, client_key=first.client_key)  # same port, new host key
    new = openssh_fingerprint(impostor.host_key)
    assert old != new
    before = known.read_text()
    for trust in (False, True):
        with pytest.raises(HostKeyError) as exc:
            ssh_transport(impostor, known_hosts=known, trust_new_host=trust).run(["true"])
        text = one_line(exc)
        assert "CHANGED" in text and old in text and new in text
        assert text.index(old) < text.index(new)  # expected first, then presented
    assert known.read_text() == before


# ---- connection and authentication failures --------------------------------------------------

def test_wrong_key_is_one_clear_line(sshd, tmp_path):
    stranger = keygen(tmp_path / "stranger")
    with pytest.raises(TransportError) as exc:
        ssh_transport(sshd, key=stranger).run(["true"])
    text = one_line(exc)
    assert text.startswith(f"cannot log in to {sshd.user}@127.0.0.1:{sshd.port}")
    assert "accepted none of the 1 key(s)" in text
    assert exc.value.hint


def test_missing_key_file_is_named(sshd, tmp_path):
    with pytest.raises(TransportError, match="does not exist") as exc:
        ssh_transport(sshd, key=tmp_path / "nope").run(["true"])
    one_line(exc)


def test_connection_refused_is_one_clear_line(sshd):
    port = free_port()
    t = SSHTransport(SSHTarget("127.0.0.1", port, "jetson", (sshd.client_key,)),
                     known_hosts=sshd.known_hosts, system_known_hosts=None)
    with pytest.raises(TransportError) as exc:
        t.home()
    assert one_line(exc) == f"cannot connect to jetson@127.0.0.1:{port}: connection refused"


def test_silent_server_times_out(tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never says a word
        port = silent.getsockname()[1]
        t = SSHTransport(SSHTarget("127.0.0.1", port, "u"), known_hosts=tmp_path / "kh",
                         system_known_hosts=None, connect_timeout=1)
        with pytest.raises(TransportError, match="handshake") as exc:
            t.run(["true"])
        one_line(exc)


def test_proxy_jump_through_a_direct_tcpip_channel(sshd):
    jump = ssh_target(sshd)
    with ssh_transport(sshd, key=None) as plain:
        pass
    t = SSHTransport(ssh_target(sshd, proxy_jump=jump), known_hosts=sshd.known_hosts,
                     system_known_hosts=None)
    with t:
        assert t.run(["echo", "via jump"]).stdout == b"via jump\n"
        assert len(t._transports) == 2
    assert plain._transports == []


def test_proxy_command_from_the_ssh_config_is_honoured(sshd, tmp_path):
    """HostName is a name that resolves nowhere: only the ProxyCommand can reach the server."""
    import sys

    from edgetrt.device.hostspec import resolve_host

    log = tmp_path / "proxy.log"
    config = tmp_path / "ssh_config"
    proxy = Path(__file__).with_name("proxy_pipe.py")
    config.write_text(f"Host viaproxy\n  HostName nowhere.invalid\n  Port {sshd.port}\n"
                      f"  User {sshd.user}\n  IdentityFile {sshd.client_key}\n"
                      f"  ProxyCommand {sys.executable} {proxy} 127.0.0.1 %p {log}\n")
    target = resolve_host("viaproxy", config)
    known = tmp_path / "known_hosts"
    known.write_text(f"[nowhere.invalid]:{sshd.port} {public_line(sshd.host_key)}\n")
    with SSHTransport(target, known_hosts=known, system_known_hosts=None, connect_timeout=5) as t:
        assert t.run(["echo", "through the proxy"]).stdout == b"through the proxy\n"
    assert log.read_text() == f"127.0.0.1 {sshd.port}\n"


def test_a_failing_proxy_command_says_why_in_one_line(tmp_path):
    target = SSHTarget("nowhere.invalid", 22, "u", proxy_command="sh -c 'echo no route to jetson >&2; exit 7'")
    t = SSHTransport(target, known_hosts=tmp_path / "kh", system_known_hosts=None, connect_timeout=2)
    with pytest.raises(TransportError) as exc:
        t.run(["true"])
    text = one_line(exc)
    assert "via its ProxyCommand" in text and "the ProxyCommand exited 7: no route to jetson" in text, text


# ---- interrupted upload ----------------------------------------------------------------------

def _relay_transport(sshd, relay, tmp_path):
    known = tmp_path / "known_hosts_relay"
    known.write_text(f"[127.0.0.1]:{relay.port} {public_line(sshd.host_key)}\n")
    return SSHTransport(ssh_target(sshd, port=relay.port), known_hosts=known,
                        system_known_hosts=None, connect_timeout=5)


def _wait_for_unlocked(part: Path, deadline: float) -> None:
    """Until the cut upload's device-side writer has let go of its part file (its flock): only an
    unlocked part is resumed, and a loaded machine reaps the writer late."""
    import fcntl

    while time.monotonic() < deadline:
        with open(part, "rb") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fh, fcntl.LOCK_UN)
                return
            except BlockingIOError:
                time.sleep(0.05)


def _parts(root: str) -> list[Path]:
    return sorted((Path(root) / "tmp").glob("*.part"))


#: what a cut may lose of the bytes that passed the relay: the file's bytes travel on the store
#: helper's stdin, and what sshd received but had not yet written into that pipe dies with it. That
#: is at most the channel window sshd grants (OpenSSH's session default: 2 MiB), plus a margin for
#: the relay's own buffering.
IN_FLIGHT = (2 << 20) + (256 << 10)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_cut_at_a_random_offset_keeps_what_arrived_and_the_retry_sends_only_the_rest(sshd, tmp_path, seed):
    """Cut mid-upload, then retry: at most the rest of the file plus IN_FLIGHT is sent again.

    What "arrived" is measured by the relay (client→server bytes it let through), less the
    protocol's own bytes, measured by sending a file of the same size through an uncut relay.
    """
    import random

    size = 8 << 20
    payload = tmp_path / "model.plan"
    payload.write_bytes(os.urandom(size))
    f = LocalFile.from_path(payload)
    twin = tmp_path / "twin.plan"
    twin.write_bytes(os.urandom(size))
    with TCPRelay(sshd.port, cut_after=1 << 40) as relay:
        with _relay_transport(sshd, relay, tmp_path) as t:
            DeviceStore(t, str(tmp_path / "baseline")).ensure_files([LocalFile.from_path(twin)])
        overhead = relay.forwarded - size
    assert 0 < overhead < 256 << 10

    cut_after = random.Random(seed).randrange(2 << 20, size - (1 << 20))
    root = str(tmp_path / "device" / ".edgetrt")
    with TCPRelay(sshd.port, cut_after=cut_after) as relay:
        cut = _relay_transport(sshd, relay, tmp_path)
        with pytest.raises(TransportError) as exc:
            DeviceStore(cut, root).ensure_files([f])
        one_line(exc)
        cut.close()
        assert relay.cuts == 1
        arrived_at_most = relay.forwarded

    store = DeviceStore(ssh_transport(sshd), root)
    final = Path(store.store_path(f.sha256))
    assert not final.exists()
    # The cut session's helper may still be writing what it had received; let it finish.
    deadline = time.monotonic() + 60  # a loaded machine (CI beside other work) is slow to reap it
    while sshd._session_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    (part,) = _parts(root)
    _wait_for_unlocked(part, deadline)
    partial = part.stat().st_size
    assert 0 < partial < f.size
    assert part.read_bytes() == payload.read_bytes()[:partial]  # what is kept is the file's prefix

    def watch(_n):
        assert not final.exists(), "a store file appeared before the upload finished"

    with store.transport as direct:
        stats = store.ensure_files([f], progress=watch)
    data_through = arrived_at_most - overhead
    print(f"\ncut after {cut_after} B through the relay: {partial} B kept, retry sent "
          f"{stats.bytes_sent} B (bound {size - data_through + IN_FLIGHT})")
    assert stats.bytes_sent == f.size - partial
    assert stats.bytes_sent <= size - data_through + IN_FLIGHT
    assert hashlib.sha256(final.read_bytes()).hexdigest() == f.sha256
    assert _parts(root) == []


class _ChannelDouble:
    """A double of a paramiko Channel whose pipe is already closed (its fd no longer open)."""

    def __init__(self, closed):
        import socket

        self.closed = closed
        sock = socket.socket()
        self._fd = sock.fileno()
        sock.close()

    def fileno(self):
        return self._fd


def test_waiting_on_a_channel_the_device_just_closed_is_not_an_error():
    """CI caught it in the 20-deploy test: the device closed the channel between the look at it
    and select(), and select() said EBADF; a closed channel is an answer, an open one's error is not."""
    from edgetrt.device.ssh_channel import wait_readable

    wait_readable(_ChannelDouble(closed=True), 0.01)
    with pytest.raises((OSError, ValueError)):
        wait_readable(_ChannelDouble(closed=False), 0.01)
