"""Inventory hosts as DeviceSpecs, --device/--limit selection, and bad inventories as one file:line error."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from edgetrt.config.inventory import read_inventory, resolve_devices
from edgetrt.errors import ConfigError, UsageError

INVENTORIES = Path(__file__).parent / "inventories"
FLEET_INI = INVENTORIES / "fleet.ini"
FLEET_YML = INVENTORIES / "fleet.yml"


@pytest.fixture(autouse=True)
def _only_shipped_device_files(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("EDGETRT_DEVICES", raising=False)


def devices(names, inventory=FLEET_INI, limit=None):
    return {d.name: d for d in resolve_devices(names, inventory, limit)}


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


# ---- hosts → DeviceSpec ---------------------------------------------------------------------------
def test_inventory_hosts_become_device_specs_with_inherited_and_own_vars():
    fleet = devices("@all")
    orin = fleet["orin-nx"]
    assert orin.profile == "orin-nano" and orin.facts["compute_capability"] == "8.7"
    assert (orin.connection.host, orin.connection.port, orin.connection.user, orin.connection.key_file) == \
        ("192.0.2.50", 22, "lab", "~/.ssh/lab_ed25519")
    assert orin.remote_root == "/data/edgetrt" and orin.python == "python3"
    assert orin.source == f"{FLEET_INI}:{line_of(FLEET_INI, 'orin-nx  ')} (host orin-nx)"
    nano5 = fleet["nano05"]
    assert (nano5.profile, nano5.connection.port, nano5.python) == ("nano", 2205, "/usr/bin/python3.6")
    nano2 = fleet["nano02"]   # its second ':2202' spelling is ignored, as Ansible ignores it
    assert (nano2.connection.host, nano2.connection.port, nano2.connection.user) == ("192.0.2.22", 22, "jetson")
    assert fleet["nano-2gb"].facts["memory_mb"] == 2048
    assert fleet["nano01"].connection.host == "nano01"      # no ansible_host: the name is the address
    assert fleet["bench-host"].profile == "x86-gpu"
    assert "jetsons" in fleet["nano01"].description


def test_yaml_hosts_take_merge_keys_and_later_definitions():
    fleet = devices("@orins", FLEET_YML)
    assert list(fleet) == ["orina", "orinb", "orinc", "orin-nx"]
    assert (fleet["orina"].connection.user, fleet["orina"].connection.port) == ("bench", 2222)
    assert fleet["orinb"].connection.user == "lab" and fleet["orin-nx"].connection.port == 22


def test_selection_order_duplicates_and_device_files():
    picked = resolve_devices("nano03,local,@nanos,nano03", FLEET_INI)
    assert [d.name for d in picked] == ["nano03", "local", "nano01", "nano02", "nano04", "nano05", "nano-2gb"]
    assert picked[1].is_local and picked[1].source.endswith("local.yaml")
    # a group's hosts in the order the file first names them, not Ansible's group walk
    assert [d.name for d in resolve_devices("@jetsons", FLEET_INI)][:3] == ["orin-nx", "nano01", "nano02"]


def test_limit_applies_to_device_files_and_inventory_hosts():
    assert list(devices("local,nano", None, limit="!nano")) == ["local"]
    assert list(devices("@nanos,local", limit="nano0[12]*,local")) == ["nano01", "nano02", "local"]


def test_an_inventory_host_wins_over_a_device_file_of_the_same_name(tmp_path):
    path = tmp_path / "inv.ini"
    path.write_text("nano ansible_host=192.0.2.9 edgetrt_profile=orin-nx\n")
    (spec,) = resolve_devices("nano", path)
    assert spec.profile == "orin-nx" and spec.source.startswith(f"{path}:1")


def test_local_connection_is_this_machine(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text("all:\n  hosts:\n    here: {ansible_connection: local, edgetrt_profile: local}\n")
    assert resolve_devices("here", path)[0].is_local


def test_hosts_outside_the_selection_are_not_checked():
    # ranges.ini's [x] hosts have no edgetrt_profile: only selecting them is an error
    assert len(resolve_devices("@racks", INVENTORIES / "ranges.ini")) == 10
    with pytest.raises(ConfigError, match=r"ranges.ini:\d+ \(host host08\): host host08 has no edgetrt_profile"):
        resolve_devices("@x", INVENTORIES / "ranges.ini")


# ---- usage errors name what exists ---------------------------------------------------------------
@pytest.mark.parametrize("names,inventory,limit,message,hint", [
    ("nano1", FLEET_INI, None, "unknown device 'nano1'", "did you mean nano01"),
    ("nano1", None, None, "unknown device 'nano1'", "--inventory"),
    ("@nanos", None, None, "a group needs an inventory", "--inventory FILE"),
    ("@nano", FLEET_INI, None, "no group 'nano'", "did you mean @nanos"),
    ("nano*", FLEET_INI, None, "names and @GROUP only", "--limit"),
    (" , ", FLEET_INI, None, "no device named", "@GROUP"),
    ("@nanos", FLEET_INI, "orins", "leaves none of the 6 selected devices", "nano01"),
    ("@all", FLEET_INI, "nanoz", "'nanoz' matches no host or group", "did you mean"),
    ("@all", FLEET_INI, "nanos[0]", "subscripts", "glob"),
    ("@all", FLEET_INI, "nanos:!", "needs a name", None),
    ("@empty", FLEET_YML, None, "has no hosts", None),
])
def test_usage_errors(names, inventory, limit, message, hint):
    with pytest.raises(UsageError) as info:
        resolve_devices(names, inventory, limit)
    assert message in str(info.value)
    assert hint is None or hint in info.value.hint


# ---- bad inventories: one ConfigError naming file:line ----------------------------------------------
BAD = [
    ("inv.ini", "h1 edgetrt_profile=nanoo\n", 1, "unknown profile 'nanoo'"),
    ("inv.ini", "[a]\nh1 edgetrt_profle=nano\n", 2, "unknown variable 'edgetrt_profle'"),
    ("inv.ini", "[a]\nh1\n[a:vars]\nedgetrt_profile=nano\nansible_port=70000\n", 5, "not a port number"),
    ("inv.ini", "h1 edgetrt_profile=nano ansible_port=ssh\n", 1, "not a port number"),
    ("inv.ini", "h1 edgetrt_profile=nano ansible_connection=docker\n", 1, "over SSH"),
    ("inv.ini", "h1 edgetrt_profile=nano ansible_host='{{ lookup(\"env\", \"X\") }}'\n", 1, "Jinja template"),
    ("inv.ini", "h1 edgetrt_profile=nano ansible_host=a ansible_ssh_host=b\n", 1, "both ansible_host"),
    ("inv.ini", "h1 edgetrt_profile=nano\n[nanos\n", 2, "no closing ']'"),
    ("inv.ini", "h1 edgetrt_profile=nano\n[ nanos ]\n", 2, "invalid section"),
    ("inv.ini", "[a:hostvars]\nh1\n", 1, "unknown type 'hostvars'"),
    ("inv.ini", "h1 edgetrt_profile\n", 1, "expected key=value"),
    ("inv.ini", "h1 edgetrt_profile='nano\n", 1, "cannot split"),
    ("inv.ini", "[a:children]\nb\n", 2, "never defined"),
    ("inv.ini", "[b:vars]\nx=1\n", 1, "never defined"),
    ("inv.ini", "[a:children]\nb\n[b:children]\na\n", 4, "loop"),
    ("inv.ini", "all:\n  hosts:\n", 1, "ends in ':'"),
    ("inv.ini", "jet[01:1] edgetrt_profile=nano\n", 1, "same width"),
    ("inv.ini", "jet[1:999999999] edgetrt_profile=nano\n", 1, "more than 100000 hosts"),
    ("inv.ini", "jet[1:2][1:9999][1:9999] edgetrt_profile=nano\n", 1, "more than 100000 hosts"),
    ("inv.ini", "[a]\nh1\n[a:vars]\nansible_group_priority=high\n", 4, "whole number"),
    ("inv.yml", "all:\n  hosts:\n    h1: {edgetrt_profile: nano\n", 4, "YAML syntax error"),
    ("inv.yml", "all:\n  host:\n    h1:\n", 2, "unknown key 'host'"),
    ("inv.yml", "nanos: [h1, h2]\n", 1, "must be a mapping"),
    ("inv.yml", "all:\n  hosts: [h1]\n", 2, "must be a mapping"),
    ("inv.yml", "all:\n  hosts:\n    10:\n", 3, "must be a string"),
    ("inv.yml", "plugin: amazon.aws.aws_ec2\n", 1, "inventory plugin"),
    ("inv.yml", "a: &a\n  children:\n    b: *a\n", 3, "contains itself"),
    ("inv.yml", "[1, 2]\n", 1, "mapping of group names"),
    ("inv.yml", "all:\n  hosts:\n    h1:\n      edgetrt_profile: nano\n      ansible_user: !vault |\n"
                "        $ANSIBLE_VAULT;1.1;AES256\n        6162\n", 5, "vault-encrypted"),
]


@pytest.mark.parametrize("name,text,line,message", BAD, ids=[f"{i}:{b[3][:24]}" for i, b in enumerate(BAD)])
def test_bad_inventories_are_one_error_naming_file_and_line(tmp_path, name, text, line, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        resolve_devices("@all", path)
    assert str(info.value).startswith(f"{path}:{line}"), str(info.value)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_vaulted_value_edgetrt_does_not_need_is_left_alone(tmp_path):
    path = tmp_path / "inv.yml"
    path.write_text("all:\n  hosts:\n    h1:\n      edgetrt_profile: nano\n      ansible_become_password: !vault |\n"
                    "        $ANSIBLE_VAULT;1.1;AES256\n        6162\n")
    assert resolve_devices("h1", path)[0].profile == "nano"


def test_group_vars_file_errors_name_that_file(tmp_path):
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("ok: 1\nbad: [\n")
    (tmp_path / "inv.ini").write_text("h1 edgetrt_profile=nano\n")
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path / "group_vars" / "all.yml")) + r":\d+: YAML"):
        read_inventory(tmp_path / "inv.ini")


@pytest.mark.parametrize("make,message", [
    (lambda p: os.mkfifo(p), "not a regular file"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: None, "no such inventory file"),
    (lambda p: p.write_bytes(b"h1 edgetrt_profile=nano\n\0\0"), "binary data"),
    (lambda p: p.write_bytes(b"h1\nh\xff\n"), "not UTF-8"),
    (lambda p: p.write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n"), "encrypted with ansible-vault"),
    (lambda p: os.truncate(p.open("w").name, (8 << 20) + 1), "larger than 8 MiB"),
])
def test_files_that_are_not_inventories_fail_at_once(tmp_path, make, message):
    path = tmp_path / "inventory"
    make(path)
    outcome = {}

    def read():
        try:
            read_inventory(path)
        except ConfigError as exc:
            outcome["error"] = str(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "reading the inventory hangs"
    assert outcome["error"].startswith(str(path)) and message in outcome["error"]


def test_no_suffix_yaml_is_read_as_yaml_and_a_broken_one_reports_both_readings(tmp_path):
    path = tmp_path / "hosts"
    path.write_text("all:\n  hosts:\n    h1: {edgetrt_profile: nano}\n")
    assert resolve_devices("h1", path)[0].profile == "nano"
    path.write_text("all:\n  hosts:\n    h1: {edgetrt_profile: nano\n")
    with pytest.raises(ConfigError) as info:
        read_inventory(path)
    assert str(info.value).startswith(f"{path}:1") and "YAML" in info.value.hint
