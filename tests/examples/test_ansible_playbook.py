"""examples/ansible/deploy.yml under the real ansible-playbook, against real sshd devices on loopback.

The inventory names three (or two) loopback OpenSSH servers the way a fleet names its Jetsons
(ansible_host, ansible_port, ansible_user, ansible_ssh_private_key_file, edgetrt_* variables);
the playbook runs `edgetrt deploy` of a tiny ONNX model for each of them from this host
(`delegate_to: localhost`: Ansible itself never uses SSH), in batches of `fleet_serial`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_cli import ansible_env, ansible_tool
from deploy_cli import REPO, check_store, tiny_onnx
from sshd_server import free_port, keygen

from edgetrt.config.inventory import resolve_devices

pytestmark = pytest.mark.ssh

PLAYBOOK = REPO / "examples" / "ansible" / "deploy.yml"
MEASURE = ["--backend", "onnxruntime", "--precision", "fp32", "--duration", "0.1", "--iterations", "2",
           "--warmup-ms", "0"]


def deploy_takes_inventory(env: dict) -> bool:
    """Whether `edgetrt deploy` has --inventory yet; until it has, the test writes device files."""
    proc = subprocess.run([sys.executable, "-m", "edgetrt", "deploy", "--help"], capture_output=True,
                          text=True, env=env, cwd=REPO, timeout=120)
    return "--inventory" in proc.stdout


class Fleet:
    def __init__(self, tmp_path: Path, fresh_sshd):
        self.tmp = tmp_path
        self.key = keygen(tmp_path / "client_ed25519")
        self.start_server = lambda: fresh_sshd(client_key=self.key)
        self.known_hosts = tmp_path / "known_hosts"
        self.known_hosts.write_text("")
        self.ssh_config = tmp_path / "ssh_config"
        self.ssh_config.write_text("")  # not the developer's ~/.ssh/config
        self.lines = []

    def add(self, name: str, group: str, server=None) -> Path:
        port = server.port if server else free_port()  # no server: an unreachable device
        if server:
            with self.known_hosts.open("a") as fh:
                fh.write(server.known_hosts.read_text())
        root = self.tmp / "devices" / name / ".edgetrt"
        self.lines.append((group, f"{name} ansible_host=127.0.0.1 ansible_port={port} "
                                  f"edgetrt_remote_root={root}"))
        return root

    def write_inventory(self) -> Path:
        groups: dict[str, list[str]] = {}
        for group, line in self.lines:
            groups.setdefault(group, []).append(line)
        text = "".join(f"[{group}]\n" + "\n".join(lines) + "\n" for group, lines in groups.items())
        text += (f"[all:vars]\nansible_user={os.environ.get('USER') or __import__('getpass').getuser()}\n"
                 f"ansible_ssh_private_key_file={self.key}\nedgetrt_profile=x86-gpu\n"
                 f"edgetrt_python={sys.executable}\n")
        path = self.tmp / "fleet.ini"
        path.write_text(text)
        return path

    def play(self, inventory: Path, serial: int) -> tuple[subprocess.CompletedProcess, Path]:
        env = ansible_env(self.tmp / "ansible")
        env.update(PYTHONPATH=str(REPO), XDG_CONFIG_HOME=str(self.tmp / "config"), TF_CPP_MIN_LOG_LEVEL="2",
                   ANSIBLE_REMOTE_TEMP=str(self.tmp / "ansible" / "remote-tmp"))
        env.pop("SSH_AUTH_SOCK", None)
        extra = {"model": str(tiny_onnx(self.tmp / "models" / "tiny.onnx")), "fleet_serial": serial,
                 "fleet_edgetrt": [sys.executable, "-m", "edgetrt"],
                 "fleet_deploy_args": MEASURE + ["--known-hosts", str(self.known_hosts),
                                                 "--ssh-config", str(self.ssh_config)],
                 "fleet_results": str(self.tmp / "results")}
        if not deploy_takes_inventory(env):
            extra["fleet_inventory_args"] = []
            write_device_files(inventory, self.tmp / "config" / "edgetrt" / "devices")
        proc = subprocess.run([ansible_tool("ansible-playbook"), "-i", str(inventory), str(PLAYBOOK),
                               "-e", json.dumps(extra)], capture_output=True, text=True, env=env,
                              cwd=self.tmp, timeout=900)
        return proc, self.tmp / "results"


def write_device_files(inventory: Path, directory: Path) -> None:
    """Device files for the inventory's hosts, made by the API the --inventory flag is wired to."""
    directory.mkdir(parents=True, exist_ok=True)
    for spec in resolve_devices("@all", inventory):
        connection = {k: v for k, v in spec.connection.to_dict().items() if v is not None}
        (directory / f"{spec.name}.yaml").write_text(json.dumps(
            {"name": spec.name, "profile": spec.profile, "connection": connection,
             "remote_root": spec.remote_root, "python": spec.python}))


def deploy_batches(proc) -> int:
    return proc.stdout.count("TASK [edgetrt deploy]")


def test_playbook_deploys_to_every_device_in_batches(tmp_path, fresh_sshd):
    fleet = Fleet(tmp_path, fresh_sshd)
    roots = {name: fleet.add(name, group, fleet.start_server())
             for name, group in (("jet1", "lab"), ("jet2", "lab"), ("jet3", "spare"))}
    proc, results = fleet.play(fleet.write_inventory(), serial=2)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert deploy_batches(proc) == 2  # serial: 2, then 1
    for name, root in roots.items():
        report = json.loads((results / f"{name}.json").read_text())
        assert report["device"]["name"] == name
        assert [run["status"] for run in report["runs"]] == ["ok"], report["runs"]
        assert check_store(root), f"nothing reached {name}'s store"
    assert "Traceback" not in proc.stdout + proc.stderr


def test_a_failing_device_does_not_stop_its_batch_or_the_next(tmp_path, fresh_sshd):
    fleet = Fleet(tmp_path, fresh_sshd)
    fleet.add("gone", "lab")                           # first batch: nothing listens there
    root = fleet.add("jet2", "lab", fleet.start_server())   # second batch
    proc, results = fleet.play(fleet.write_inventory(), serial=1)
    assert proc.returncode == 2, proc.stdout[-4000:]   # ansible-playbook: some host failed
    assert deploy_batches(proc) == 2
    assert [r["status"] for r in json.loads((results / "jet2.json").read_text())["runs"]] == ["ok"]
    assert check_store(root)
    assert not (results / "gone.json").exists()
    failure = next(line for line in proc.stdout.splitlines() if "fatal: [gone]" in line)
    assert "edgetrt deploy exited 3: error:" in failure and "127.0.0.1" in failure, failure
