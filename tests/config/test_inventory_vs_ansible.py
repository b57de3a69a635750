"""edgetrt's reading of every test inventory equals Ansible's, and so does each --limit selection.

The reference is Ansible itself: `ansible-inventory --list` for groups, members and every host's
merged variables; `ansible -i FILE all --limit PATTERN --list-hosts` for patterns.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from ansible_cli import ansible_inventory_list, ansible_list_hosts  # noqa: E402

from edgetrt.config.inventory import read_inventory, resolve_devices  # noqa: E402
from edgetrt.errors import UsageError  # noqa: E402

INVENTORIES = Path(__file__).parent / "inventories"
EVERY_INVENTORY = ["fleet.ini", "fleet.yml", "ranges.ini", "vars_dirs/hosts"]


@pytest.fixture(autouse=True)
def _no_user_devices(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("EDGETRT_DEVICES", raising=False)


def as_ansible_list(path: Path) -> dict:
    """Our reading in `ansible-inventory --list`'s shape (empty groups and vars left out, as it does)."""
    inventory = read_inventory(path)
    listing = {"_meta": {"hostvars": {}}}
    for host in inventory.hosts:
        merged = {key: var.value for key, var in inventory.host_vars(host).items()}
        if merged:
            listing["_meta"]["hostvars"][host] = merged
    for name, group in inventory.groups.items():
        entry = {}
        if name != "all" and group.hosts:
            entry["hosts"] = group.hosts
        if group.children:
            entry["children"] = group.children
        if entry or name == "all":
            listing[name] = entry
    return json.loads(json.dumps(listing))  # tuples → lists, as Ansible's JSON has them


@pytest.mark.parametrize("name", EVERY_INVENTORY)
def test_reading_equals_ansible_inventory_list(name, tmp_path):
    path = INVENTORIES / name
    theirs = ansible_inventory_list(path, tmp_path / "ansible")
    ours = as_ansible_list(path)
    assert ours["_meta"] == theirs["_meta"]
    assert ours == theirs
    assert len(ours["_meta"]["hostvars"]) >= 3  # the inventory is not trivially empty


LIMITS = [
    ("fleet.ini", "nanos"),
    ("fleet.ini", "nano*"),
    ("fleet.ini", "orin-nx,nano-spare"),
    ("fleet.ini", "jetsons:!broken"),
    ("fleet.ini", "jetsons:&broken"),
    ("fleet.ini", "nanos,orins,!nano0[!2]*"),
    ("fleet.ini", "!nanos"),
    ("fleet.ini", "~orin-n.*"),
    ("fleet.ini", "ungrouped:xaviers"),
    ("fleet.ini", "al*"),
    ("fleet.yml", "orins:&lab-bench"),
    ("fleet.yml", "lab-bench:!orins"),
    ("fleet.yml", "orin[ab],xavier-nx,bench-host"),
    ("ranges.ini", "rack2-*:jet00?.lab.example"),
]


@pytest.mark.parametrize("name,limit", LIMITS)
def test_limit_selects_what_ansible_selects(name, limit, tmp_path):
    path = INVENTORIES / name
    theirs = ansible_list_hosts(path, limit, tmp_path / "ansible")
    assert theirs, f"ansible selects nothing for {limit!r}: a useless case"
    ours = [d.name for d in resolve_devices("@all", path, limit=limit)] if name != "ranges.ini" else \
        [d.name for d in resolve_devices("@racks", path, limit=limit)]
    assert sorted(ours) == sorted(theirs)
    # Ours keep the inventory's order (the order the file first names the hosts).
    order = list(read_inventory(path).hosts)
    assert ours == sorted(ours, key=order.index)


@pytest.mark.parametrize("limit", ["nanoz", "jetsons:!nope", "~zzz"])
def test_a_limit_that_matches_nothing_fails_here_as_in_strict_ansible(limit, tmp_path):
    path = INVENTORIES / "fleet.ini"
    assert ansible_list_hosts(path, limit, tmp_path / "ansible") is None
    with pytest.raises(UsageError, match="matches no host or group"):
        resolve_devices("@all", path, limit=limit)
