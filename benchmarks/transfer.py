"""Upload throughput: edgetrt's DeviceStore over SSHTransport vs OpenSSH scp, in one run.

    PYTHONPATH=. .venv/bin/python benchmarks/transfer.py [--mb 200] [--repeat 2]

Starts a throwaway sshd on 127.0.0.1 (tests/device/sshd_server.py), makes a random file, uploads
it with DeviceStore.ensure_files and with ``scp -o Compression=no`` (same key, same known_hosts),
and prints MB/s for each and the ratio edgetrt/scp; then an unchanged redeploy (bytes, seconds).
Each upload is repeated and the best run kept, so a noisy neighbour does not decide the ratio.

Both sides run on this machine and share its CPUs with sshd, so the figures are CPU-bound
(encryption + Python per-packet work), not network-bound; on a real Jetson link the network
usually dominates and the ratio moves towards 1.
"""

from __future__ import annotations

import argparse
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

from sshd_server import SSHServer, sshd_missing_reason  # noqa: E402

from edgetrt.device import ssh as ssh_module  # noqa: E402
from edgetrt.device.hostspec import SSHTarget  # noqa: E402
from edgetrt.device.ssh import SSHTransport  # noqa: E402
from edgetrt.device import store as store_module  # noqa: E402
from edgetrt.device.store import DeviceStore, LocalFile  # noqa: E402


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
        stats = DeviceStore(t, root).ensure_files([f])
        seconds = time.perf_counter() - started
    assert stats.bytes_sent == f.size, stats
    return seconds, stats.bytes_sent, cipher


def scp_upload(server: SSHServer, f: LocalFile, dest: Path) -> float:
    dest.unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run(["scp", "-q", "-i", str(server.client_key), "-o", f"UserKnownHostsFile={server.known_hosts}",
                    "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "Compression=no",
                    "-P", str(server.port), str(f.path), f"{server.user}@127.0.0.1:{dest}"], check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="file size in MiB (default 200)")
    parser.add_argument("--repeat", type=int, default=2, help="uploads per tool; the best counts")
    parser.add_argument("--cipher", help="force an SSH cipher for edgetrt (tuning experiments)")
    parser.add_argument("--block-kib", type=int, help="SFTP write size in KiB (tuning experiments)")
    parser.add_argument("--in-flight", type=int, help="SFTP writes in flight unacknowledged (tuning)")
    parser.add_argument("--no-overlap", action="store_true",
                        help="hash on the device after the upload instead of during it (experiments)")
    args = parser.parse_args()
    reason = sshd_missing_reason()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    if args.cipher:
        ssh_module.PREFERRED_CIPHERS = (args.cipher,)
    if args.block_kib:
        ssh_module.SFTP_WRITE_BLOCK = args.block_kib << 10
    if args.in_flight:
        ssh_module.WRITES_IN_FLIGHT = args.in_flight
    if args.no_overlap:
        store_module.FOLLOW_STALL_SECONDS = 0.0  # the follower gives up at once; the store hashes afterwards

    with tempfile.TemporaryDirectory(prefix="edgetrt-bench-") as tmp:
        tmp = Path(tmp)
        server = SSHServer.start(tmp / "sshd")
        try:
            f = make_file(tmp / "payload.bin", args.mb)
            mb = f.size / 1e6
            root = str(tmp / "device" / ".edgetrt")
            ours, theirs = [], []
            for _ in range(args.repeat):  # interleaved, so drift hits both alike
                seconds, _, cipher = edgetrt_upload(server, f, root)
                ours.append(seconds)
                theirs.append(scp_upload(server, f, tmp / "scp-copy.bin"))
            assert (tmp / "scp-copy.bin").stat().st_size == f.size
            e, s = mb / min(ours), mb / min(theirs)
            print(f"file            {args.mb} MiB random ({mb:.0f} MB; MB/s below are 10^6 bytes/s)")
            print(f"edgetrt store   {e:7.1f} MB/s  (best of {args.repeat}; cipher {cipher}, "
                  f"SFTP writes {ssh_module.SFTP_WRITE_BLOCK >> 10} KiB)")
            print(f"scp             {s:7.1f} MB/s  (best of {args.repeat}; OpenSSH defaults, Compression=no)")
            print(f"ratio           {e / s:7.2f}  edgetrt/scp")

            target = SSHTarget("127.0.0.1", server.port, server.user, (server.client_key,))
            with SSHTransport(target, known_hosts=server.known_hosts, system_known_hosts=None) as t:
                t.home()
                again = DeviceStore(t, root).ensure_files([f])
            print(f"unchanged run   {again.bytes_sent} bytes sent, {again.seconds:.3f} s "
                  f"({again.files_skipped} file skipped)")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
