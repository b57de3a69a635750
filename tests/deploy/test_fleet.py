"""A shelf of devices in one Ansible inventory, deployed to in one command over real OpenSSH.

Twenty loopback devices: eighteen served by four real sshd servers (each device its own remote
root), one whose host key changed since known_hosts recorded it, one that nothing answers. One
`edgetrt deploy ... --device @all --inventory FILE` gives 18 complete reports with ok runs, 2 rows
naming their failure, exit status 1 and one summary table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deploy_cli import REPO, check_store, tiny_onnx
from sshd_server import SSHServer, free_port, keygen, public_line

pytestmark = [pytest.mark.ssh, pytest.mark.slow]

QUICK = ("--backend", "onnxruntime", "--precision", "fp32", "--duration", "0.1", "--iterations", "2",
         "--warmup-ms", "0")


@pytest.fixture
def shelf(tmp_path):
    servers = [SSHServer.start(tmp_path / f"sshd{i}", extra_config="MaxStartups 100\nMaxSessions 50",
                               client_key=keygen(tmp_path / "client_ed25519")) for i in range(4)]
    # The "changed key" device: a server whose key is not the one known_hosts holds for its address.
    changed = SSHServer.start(tmp_path / "sshd-changed", client_key=tmp_path / "client_ed25519")
    stale = keygen(tmp_path / "old_host_key")
    known = tmp_path / "known_hosts"
    known.write_text("".join(f"{s.known_hosts_name} {public_line(s.host_key)}\n" for s in servers)
                     + f"{changed.known_hosts_name} {public_line(stale)}\n")
    lines = ["[nanos]"]
    hosts = []
    for i in range(18):
        server = servers[i % 4]
        name = f"jetson{i + 1:02d}"
        hosts.append(name)
        lines.append(f"{name} ansible_host=127.0.0.1 ansible_port={server.port} ansible_user={server.user} "
                     f"edgetrt_remote_root={tmp_path / 'devices' / name}")
        if i == 8:
            lines.append(f"rekeyed ansible_host=127.0.0.1 ansible_port={changed.port} ansible_user={changed.user} "
                         f"edgetrt_remote_root={tmp_path / 'devices' / 'rekeyed'}")
            hosts.append("rekeyed")
    lines += ["", "[orins]", f"unplugged ansible_host=127.0.0.1 ansible_port={free_port()} ansible_user=root"]
    hosts.append("unplugged")
    lines += ["", "[all:vars]", "edgetrt_profile=x86-gpu", f"edgetrt_python={sys.executable}"]
    inventory = tmp_path / "shelf.ini"
    inventory.write_text("\n".join(lines) + "\n")
    yield inventory, known, tmp_path, hosts
    for server in servers + [changed]:
        server.stop()


def test_twenty_devices_from_one_inventory_in_one_command(shelf, deployer):
    inventory, known, tmp_path, hosts = shelf
    model = tiny_onnx(tmp_path / "tiny.onnx")
    ssh_config = deployer.ssh_config(tmp_path / "client_ed25519")
    base = [sys.executable, "-m", "edgetrt", "deploy", str(model), "--device", "@all", "--inventory", str(inventory),
            "--known-hosts", str(known), "--ssh-config", str(ssh_config), *QUICK]
    proc = subprocess.run(base + ["--json"], capture_output=True, text=True, env=deployer.env, timeout=900)
    assert proc.returncode == 1, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    assert [d["name"] for d in doc["devices"]] == hosts  # inventory order
    reached = [d for d in doc["devices"] if not d["error"]]
    failed = {d["name"]: d["error"] for d in doc["devices"] if d["error"]}
    assert len(reached) == 18 and set(failed) == {"rekeyed", "unplugged"}, failed
    assert "changed" in failed["rekeyed"].lower()
    assert "unplugged" not in failed["unplugged"] or "127.0.0.1" in failed["unplugged"]
    for report in reached:
        [run] = report["runs"]
        assert run["status"] == "ok", (report["name"], run["message"])
        check_store(Path(report["device"]["remote_root"]))
    for name in failed:
        assert next(d for d in doc["devices"] if d["name"] == name)["runs"] == []
    summary = doc["summary"]
    assert summary["devices"] == 20 and summary["reached"] == 18 and summary["runs"] == {"ok": 18}
    [cell] = summary["cells"]
    assert len(cell["devices"]) == 18

    table = subprocess.run(base, capture_output=True, text=True, env=dict(deployer.env, COLUMNS="80"), timeout=900)
    assert table.returncode == 1, table.stderr[-2000:]
    assert table.stdout.count("fleet: 18 of 20 devices reached") == 1
    assert "rekeyed" in table.stdout and "unplugged" in table.stdout
    assert "Traceback" not in table.stderr
