"""Ansible's own command-line tools, run on a test inventory, as the reference edgetrt must match.

ansible-core is in the `ansible` extra (and so in `dev`, which CI installs). Each call runs with an
empty ansible.cfg, its own ANSIBLE_HOME and an unrelated working directory, so nothing of the
developer's Ansible set-up changes the answer, and with the settings that turn Ansible's
"warn and go on" into failures (an unparsable inventory, a pattern that matches nothing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def ansible_tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not found: install ansible-core (pip install -e .[ansible])")
    return found


def ansible_env(home: Path) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "ansible.cfg"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_HOME=str(home), ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
               ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_HOST_PATTERN_MISMATCH="error",
               ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="false")
    return env


def run_ansible(tool: str, args: list, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ansible_tool(tool), *args], capture_output=True, text=True,
                          env=ansible_env(home), cwd=home, timeout=120)


def ansible_inventory_list(inventory: Path, home: Path) -> dict:
    """`ansible-inventory -i FILE --list`, with Ansible's JSON wrapping of !unsafe values undone."""
    proc = run_ansible("ansible-inventory", ["-i", str(inventory), "--list"], home)
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    listing["_meta"].pop("profile", None)
    return _unwrap(listing)


def _unwrap(value):
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


def ansible_list_hosts(inventory: Path, limit: str, home: Path) -> list[str] | None:
    """`ansible -i FILE all --limit PATTERN --list-hosts`: the hosts, or None when Ansible refuses."""
    proc = run_ansible("ansible", ["-i", str(inventory), "all", "--limit", limit, "--list-hosts"], home)
    if proc.returncode != 0:
        return None
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.strip().startswith("hosts ("))
    return [line.strip() for line in lines[header + 1:] if line.strip()]
