"""Deploying to 20 devices vs 1, in one run: the wall-time ratio (goal ≤ 2.0) and the bytes sent.

    PYTHONPATH=. .venv/bin/python benchmarks/fleet.py [--devices 20] [--rounds 3] [--model mobilenet_v1_0.25_128]

Four throwaway sshd servers on 127.0.0.1 (tests/device/sshd_server.py) stand for the devices; each
of the N inventory hosts has its own remote root, emptied before every deploy so each round uploads
everything again (the conversion is cached by a warm-up deploy first, as a fleet deploy converts
once). A (one device) and B (N devices) are interleaved, repeated, and each reported as median and
spread (min–max); the ratio B/A of the medians comes last, with the bytes the host sent.

All "devices" share this machine's two cores with sshd and the host, so the N measurements run
on the same CPUs: a worst case for the ratio. On a real shelf each board measures on its own CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "device")]

from sshd_server import SSHServer, keygen, sshd_missing_reason  # noqa: E402

MEASURE = ("--backend", "onnxruntime", "--precision", "fp32", "--duration", "0.2", "--iterations", "2",
           "--warmup-ms", "0")


def inventory(path: Path, servers, n: int, roots: Path) -> Path:
    lines = ["[shelf]"]
    for i in range(n):
        server = servers[i % len(servers)]
        lines.append(f"dev{i + 1:02d} ansible_host=127.0.0.1 ansible_port={server.port} ansible_user={server.user} "
                     f"edgetrt_remote_root={roots / f'dev{i + 1:02d}'}")
    lines += ["", "[shelf:vars]", "edgetrt_profile=x86-gpu", f"edgetrt_python={sys.executable}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def deploy(args, inv: Path, known: Path, ssh_config: Path, roots: Path, env: dict) -> tuple[float, int]:
    shutil.rmtree(roots, ignore_errors=True)
    argv = [sys.executable, "-m", "edgetrt", "deploy", args.model, "--device", "@shelf", "--inventory", str(inv),
            "--known-hosts", str(known), "--ssh-config", str(ssh_config), "--weights", "random", *MEASURE,
            "--json"]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"deploy failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
    doc = json.loads(proc.stdout)
    reports = doc["devices"] if "devices" in doc else [doc]
    return wall, sum((r.get("transfer") or {}).get("bytes_sent", 0) for r in reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="mobilenet_v1_0.25_128")
    args = parser.parse_args()
    reason = sshd_missing_reason()
    if reason:
        raise SystemExit(reason)
    work = Path(tempfile.mkdtemp(prefix="edgetrt-fleet-bench-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), EDGETRT_CACHE=str(work / "cache"), HOME=str(work),
               XDG_CONFIG_HOME=str(work / "config"))
    key = keygen(work / "client_ed25519")
    servers = [SSHServer.start(work / f"sshd{i}", client_key=key, extra_config="MaxStartups 100\nMaxSessions 50")
               for i in range(4)]
    try:
        known = work / "known_hosts"
        known.write_text("".join(s.known_hosts.read_text() for s in servers))
        ssh_config = work / "ssh_config"
        ssh_config.write_text(f"Host 127.0.0.1\n  IdentityFile {key}\n  IdentitiesOnly yes\n")
        one = inventory(work / "one.ini", servers, 1, work / "roots-one")
        many = inventory(work / "many.ini", servers, args.devices, work / "roots-many")
        deploy(args, one, known, ssh_config, work / "roots-one", env)  # warm-up: converts once
        walls = {"1": [], str(args.devices): []}
        sent = {}
        for round_ in range(args.rounds):
            for label, inv, roots in (("1", one, work / "roots-one"), (str(args.devices), many, work / "roots-many")):
                wall, nbytes = deploy(args, inv, known, ssh_config, roots, env)
                walls[label].append(wall)
                sent[label] = nbytes
                print(f"round {round_ + 1}: {label:>2} device(s): {wall:6.2f} s, {nbytes:,} bytes sent", flush=True)
        medians = {}
        for label, values in walls.items():
            medians[label] = statistics.median(values)
            print(f"{label:>2} device(s): median {medians[label]:.2f} s (min {min(values):.2f}, max {max(values):.2f}, "
                  f"n={len(values)}), {sent[label]:,} bytes sent per deploy")
        ratio = medians[str(args.devices)] / medians["1"]
        print(f"ratio {args.devices} devices / 1 device (wall, medians): {ratio:.2f} (goal <= 2.0)")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
