"""Upload throughput: edgetrt's DeviceStore over SSHTransport vs OpenSSH scp, in one run.

    python benchmarks/transfer.py [--mb 200] [--rounds 7] [--login-rc]

Starts a throwaway sshd on 127.0.0.1 (tests/device/sshd_server.py), makes a random file, and in
each round uploads it with DeviceStore.ensure_files (into an emptied store: the whole file is sent,
hashed on the device while it arrives, verified and renamed) and with ``scp -o Compression=no``
(same key, same known_hosts), the order rotated from round to round (interleave.py). Printed:
each tool's MB/s (median, IQR, min–max over the rounds), then an unchanged redeploy (bytes,
seconds), and last the per-round ratio edgetrt/scp of throughputs (= scp's seconds / edgetrt's).
The connection is made outside the timed part for edgetrt, as scp's handshake is tiny too.

edgetrt's upload starts one remote command (the store's helper, which receives the file on its
stdin and writes and hashes it as it arrives); scp starts none (OpenSSH 9's scp speaks SFTP to
sshd's own SFTP server). Each remote command starts the login
user's shell, which on this machine runs ~/.bashrc, and that runs `pyenv init` (0.23 s per
command here, 2026-12-02; a Jetson's ~/.bashrc returns at once for a non-interactive shell). As in
fleet.py, the device's sshd sets SHLVL=1 for its sessions, so bash skips ~/.bashrc as it does for
any nested shell; `--login-rc` keeps it. The time one remote command takes to start is printed.

Both sides run on this machine and share its CPUs with sshd, so the figures are CPU-bound
(encryption + Python per-packet work), not network-bound; on a real Jetson link the network
usually dominates and the ratio moves towards 1.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "device"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from interleave import describe, interleave, machine_line, per_round_ratios, quartiles, ratio_line  # noqa: E402

from sshd_server import SSHServer, sshd_missing_reason  # noqa: E402

from edgetrt.device import ssh as ssh_module  # noqa: E402
from edgetrt.device.hostspec import SSHTarget  # noqa: E402
from edgetrt.device.ssh import SSHTransport  # noqa: E402
from edgetrt.device.store import DeviceStore, LocalFile  # noqa: E402


#: the device's python3 for the store's helper: this interpreter, by its real path, as a device file
#: names it (tests/deploy do the same). Plain "python3" on this machine is pyenv's shim, a shell
#: script that costs ~0.1 s per start — a property of this host, not of a Jetson's /usr/bin/python3.
DEVICE_PYTHON = sys.executable


def make_file(path: Path, mb: int) -> LocalFile:
    with open(path, "wb") as fh:
        for _ in range(mb):
            fh.write(os.urandom(1 << 20))
    return LocalFile.from_path(path)


def edgetrt_upload(server: SSHServer, f: LocalFile, root: str) -> tuple[float, int, str]:
    target = SSHTarget("127.0.0.1", server.port, server.user, (server.client_key,))
    with SSHTransport(target, known_hosts=server.known_hosts, system_known_hosts=None) as t:
        t.home()  # connect outside the timed part, as scp's handshake is tiny too
        cipher = t.connection.remote_cipher
        shutil.rmtree(root, ignore_errors=True)
        started = time.perf_counter()
        stats = DeviceStore(t, root, python=DEVICE_PYTHON).ensure_files([f])
        seconds = time.perf_counter() - started
    assert stats.bytes_sent == f.size, stats
    stored = Path(root) / "store" / f.sha256  # what arrived, checked outside the timed part
    with open(stored, "rb") as fh:
        assert hashlib.file_digest(fh, "sha256").hexdigest() == f.sha256, stored
    return seconds, stats.bytes_sent, cipher


def scp_upload(server: SSHServer, f: LocalFile, dest: Path) -> float:
    dest.unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run(["scp", "-q", "-i", str(server.client_key), "-o", f"UserKnownHostsFile={server.known_hosts}",
                    "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "Compression=no",
                    "-P", str(server.port), str(f.path), f"{server.user}@127.0.0.1:{dest}"], check=True)
    return time.perf_counter() - started


def command_start(server: SSHServer) -> float:
    """Seconds one remote command takes on the open connection: the shell's start and its exit."""
    target = SSHTarget("127.0.0.1", server.port, server.user, (server.client_key,))
    with SSHTransport(target, known_hosts=server.known_hosts, system_known_hosts=None) as t:
        t.home()
        seconds = []
        for _ in range(5):
            started = time.perf_counter()
            t.run(["true"])
            seconds.append(time.perf_counter() - started)
    return quartiles(seconds)[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="file size in MiB (default 200)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of one upload per tool (default 7)")
    parser.add_argument("--login-rc", action="store_true",
                        help="let the device's shell run this machine's ~/.bashrc (see above)")
    parser.add_argument("--cipher", help="force an SSH cipher for edgetrt (tuning experiments)")
    args = parser.parse_args()
    reason = sshd_missing_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    if args.cipher:
        ssh_module.PREFERRED_CIPHERS = (args.cipher,)
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="edgetrt-bench-") as tmp:
        tmp = Path(tmp)
        server = SSHServer.start(tmp / "sshd", extra_config="" if args.login_rc else "SetEnv SHLVL=1")
        try:
            f = make_file(tmp / "payload.bin", args.mb)
            mb = f.size / 1e6
            root = str(tmp / "device" / ".edgetrt")
            ciphers = set()

            def ours():
                seconds, _, cipher = edgetrt_upload(server, f, root)
                ciphers.add(cipher)
                return seconds

            seconds = interleave({"edgetrt": ours, "scp": lambda: scp_upload(server, f, tmp / "scp-copy.bin")},
                                 args.rounds)
            assert (tmp / "scp-copy.bin").stat().st_size == f.size
            print(f"file            {args.mb} MiB random ({mb:.0f} MB; MB/s below are 10^6 bytes/s), "
                  f"{args.rounds} rounds, order rotated")
            print(f"edgetrt store   {describe([mb / s for s in seconds['edgetrt']], unit=' MB/s', digits=1)}; "
                  f"cipher {', '.join(sorted(ciphers))}, the file on the store helper's stdin")
            print(f"scp             {describe([mb / s for s in seconds['scp']], unit=' MB/s', digits=1)}; "
                  "OpenSSH defaults, Compression=no")

            target = SSHTarget("127.0.0.1", server.port, server.user, (server.client_key,))
            with SSHTransport(target, known_hosts=server.known_hosts, system_known_hosts=None) as t:
                t.home()
                again = DeviceStore(t, root, python=DEVICE_PYTHON).ensure_files([f])
            print(f"remote command  {command_start(server):.3f} s to run `true` (median of 5); the "
                  f"device's shell {'runs' if args.login_rc else 'skips (SHLVL=1)'} ~/.bashrc")
            print(f"unchanged run   {again.bytes_sent} bytes sent, {again.seconds:.3f} s "
                  f"({again.files_skipped} file skipped)")
            ratios = per_round_ratios(seconds["scp"], seconds["edgetrt"])
            print(ratio_line("edgetrt / scp throughput", ratios, ">= 1.0", quartiles(ratios)[1] >= 1.0))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
