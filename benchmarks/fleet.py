"""Deploying to 20 devices vs 1, in one run: the wall-time ratio (goal ≤ 2.0), the bytes sent and
where the CPU time goes.

    PYTHONPATH=. .venv/bin/python benchmarks/fleet.py [--devices 20] [--rounds 3]
        [--model mobilenet_v1_0.25_128] [--login-rc]

Four throwaway sshd servers on 127.0.0.1 (tests/device/sshd_server.py) stand for the devices; each
of the N inventory hosts has its own remote root, emptied before every deploy so each round uploads
everything again (the conversion is cached by a warm-up deploy first, as a fleet deploy converts
once). A (one device) and B (N devices) take turns, the order rotated each round (interleave.py);
each is reported as median, IQR and min–max, and the per-round ratio B/A comes last.

Also printed, per deploy, the CPU seconds of the host process (its rusage) and of everything that
ran for the devices (the sshd servers' own and reaped children's CPU time from /proc: sshd, the
users' shells, the store helper, the agent and its measuring children). All "devices" share this
machine's two cores with the host, so N devices' own work is done N times on the same CPUs: with
C CPU-seconds per deploy the wall time cannot drop below C / 2. On a real shelf each board does
its part on its own CPU and only the host's share is shared.

Each remote command starts the login user's shell, which on this machine runs ~/.bashrc, and that
runs `pyenv init` (~0.1 s of CPU per command; a Jetson's ~/.bashrc has no such thing). By default
the devices' sshd sets SHLVL=1 for its sessions, so bash skips ~/.bashrc as it does for any nested
shell; `--login-rc` keeps it, to show that cost.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "device"), str(Path(__file__).resolve().parent)]

from interleave import describe, interleave, machine_line, per_round_ratios, quartiles, ratio_line  # noqa: E402

from sshd_server import SSHServer, keygen, sshd_missing_reason  # noqa: E402

MEASURE = ("--backend", "onnxruntime", "--precision", "fp32", "--duration", "0.2", "--iterations", "2",
           "--warmup-ms", "0")
TARGET = 2.0
TICK = os.sysconf("SC_CLK_TCK")


def inventory(path: Path, servers, n: int, roots: Path) -> Path:
    lines = ["[shelf]"]
    for i in range(n):
        server = servers[i % len(servers)]
        lines.append(f"dev{i + 1:02d} ansible_host=127.0.0.1 ansible_port={server.port} ansible_user={server.user} "
                     f"edgetrt_remote_root={roots / f'dev{i + 1:02d}'}")
    lines += ["", "[shelf:vars]", "edgetrt_profile=x86-gpu", f"edgetrt_python={sys.executable}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _cpu_of(pid: int, reaped: bool) -> float:
    """A process's own CPU seconds, plus its reaped children's when ``reaped``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if reaped else 0)
    return ticks / TICK


def devices_cpu(servers) -> float:
    """CPU seconds of the sshd servers and every session process they have reaped."""
    return sum(_cpu_of(s.process.pid, reaped=True) for s in servers)


def _settled(servers, timeout: float = 10.0) -> None:
    """Wait until every device session has ended and been reaped (its CPU counted)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(s._session_pids() for s in servers):
        time.sleep(0.05)


class Deploys:
    """One fleet deploy per call; records wall, CPU and bytes of each."""

    def __init__(self, args, known: Path, ssh_config: Path, env: dict, servers):
        self.args, self.known, self.ssh_config, self.env, self.servers = args, known, ssh_config, env, servers
        self.records: dict[str, list[dict]] = {}

    def __call__(self, label: str, inv: Path, roots: Path) -> float:
        shutil.rmtree(roots, ignore_errors=True)
        argv = [sys.executable, "-m", "edgetrt", "deploy", self.args.model, "--device", "@shelf", "--inventory",
                str(inv), "--known-hosts", str(self.known), "--ssh-config", str(self.ssh_config),
                "--weights", "random", *MEASURE, "--json"]
        _settled(self.servers)
        host0, dev0 = resource.getrusage(resource.RUSAGE_CHILDREN), devices_cpu(self.servers)
        started = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=self.env, timeout=1800)
        wall = time.perf_counter() - started
        _settled(self.servers)
        host1, dev1 = resource.getrusage(resource.RUSAGE_CHILDREN), devices_cpu(self.servers)
        if proc.returncode != 0:
            raise SystemExit(f"deploy failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
        doc = json.loads(proc.stdout)
        reports = doc["devices"] if "devices" in doc else [doc]
        bad = [r.get("name") for r in reports for run in r.get("runs", []) if run.get("status") != "ok"]
        if bad or any(r.get("error") for r in reports):
            raise SystemExit(f"a device did not end ok: {bad or [r.get('error') for r in reports]}")
        self.records.setdefault(label, []).append({
            "wall": wall, "bytes": sum((r.get("transfer") or {}).get("bytes_sent", 0) for r in reports),
            "host_cpu": (host1.ru_utime + host1.ru_stime) - (host0.ru_utime + host0.ru_stime),
            "devices_cpu": dev1 - dev0})
        return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="mobilenet_v1_0.25_128")
    parser.add_argument("--login-rc", action="store_true",
                        help="let the devices' login shells run ~/.bashrc (this machine's runs pyenv init)")
    args = parser.parse_args()
    reason = sshd_missing_reason()
    if reason:
        raise SystemExit(reason)
    print(machine_line())
    work = Path(tempfile.mkdtemp(prefix="edgetrt-fleet-bench-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), EDGETRT_CACHE=str(work / "cache"), HOME=str(work),
               XDG_CONFIG_HOME=str(work / "config"))
    key = keygen(work / "client_ed25519")
    extra = "MaxStartups 100\nMaxSessions 50\n" + ("" if args.login_rc else "SetEnv SHLVL=1\n")
    servers = [SSHServer.start(work / f"sshd{i}", client_key=key, extra_config=extra) for i in range(4)]
    try:
        known = work / "known_hosts"
        known.write_text("".join(s.known_hosts.read_text() for s in servers))
        ssh_config = work / "ssh_config"
        ssh_config.write_text(f"Host 127.0.0.1\n  IdentityFile {key}\n  IdentitiesOnly yes\n")
        one = inventory(work / "one.ini", servers, 1, work / "roots-one")
        many = inventory(work / "many.ini", servers, args.devices, work / "roots-many")
        deploys = Deploys(args, known, ssh_config, env, servers)
        deploys("warm-up", one, work / "roots-one")  # converts once, as a fleet deploy does
        n = str(args.devices)
        walls = interleave({"1": lambda: deploys("1", one, work / "roots-one"),
                            n: lambda: deploys(n, many, work / "roots-many")}, args.rounds)
        print(f"edgetrt deploy {args.model} --device @shelf {' '.join(MEASURE)}; login shells "
              + ("run ~/.bashrc" if args.login_rc else "skip ~/.bashrc (SHLVL=1)"))
        for label in ("1", n):
            records = deploys.records[label]
            count = int(label)
            print(f"{label:>2} device(s)  wall        {describe(walls[label], unit=' s', digits=2)}")
            print(f"             host CPU    {describe([r['host_cpu'] for r in records], unit=' s', digits=2)}")
            print(f"             devices CPU {describe([r['devices_cpu'] for r in records], unit=' s', digits=2)}"
                  f" ({describe([r['devices_cpu'] / count for r in records], unit=' s', digits=2)} per device)")
            print(f"             bytes sent  {records[-1]['bytes']:,}")
        floor = [(r["host_cpu"] + r["devices_cpu"]) / (os.cpu_count() or 1) for r in deploys.records[n]]
        print(f"{n} devices: all CPU time / {os.cpu_count()} CPUs, the least wall time this machine allows: "
              f"{describe(floor, unit=' s', digits=2)}")
        ratios = per_round_ratios(walls[n], walls["1"])
        print(ratio_line(f"{n} devices / 1 device (wall)", ratios, f"<= {TARGET}", quartiles(ratios)[1] <= TARGET))
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
