"""--host parsing and ssh config resolution (pure: no network)."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from edgetrt.device.hostspec import SSHTarget, resolve_host, split_host_value
from edgetrt.errors import UsageError


@pytest.mark.parametrize("value, expected", [
    ("jetson", (None, "jetson", None)),
    ("nvidia@127.0.0.1", ("nvidia", "127.0.0.1", None)),
    ("nvidia@127.0.0.1:2222", ("nvidia", "127.0.0.1", 2222)),
    ("[::1]:2222", (None, "::1", 2222)),
    ("me@[::1]:2200", ("me", "::1", 2200)),
    ("[::1]", (None, "::1", None)),
    ("::1", (None, "::1", None)),
    ("orin.local:22", (None, "orin.local", 22)),
])
def test_split_host_value(value, expected):
    assert split_host_value(value) == expected


@pytest.mark.parametrize("bad", ["", "  ", "a b", "u@", "@h", "h:0", "h:65536", "h:x", "[::1", "[::1]x",
                                 "-oProxyCommand=x", "h;rm", "u;x@h", "h\n"])
def test_split_host_value_rejects(bad):
    with pytest.raises(UsageError):
        split_host_value(bad)


@pytest.fixture
def ssh_config(tmp_path):
    path = tmp_path / "config"
    path.write_text("""
Host orin
  HostName 127.0.0.1
  Port 2222
  User jetson
  IdentityFile ~/.ssh/orin_key
  IdentityFile /keys/%h_%p
  ProxyJump bastion
  UserKnownHostsFile /tmp/kh1 /tmp/kh2

Host bastion
  HostName 127.0.0.2
  User hop

Host chain
  HostName 127.0.0.3
  ProxyJump first,me@second:2022

Host first
  HostName 127.0.0.4
""")
    return path


def test_alias_resolves_through_ssh_config(ssh_config):
    t = resolve_host("orin", ssh_config)
    assert (t.host, t.port, t.user, t.alias) == ("127.0.0.1", 2222, "jetson", "orin")
    assert t.key_files == (Path("~/.ssh/orin_key").expanduser(), Path("/keys/127.0.0.1_2222"))
    assert t.known_hosts_files == (Path("/tmp/kh1"), Path("/tmp/kh2"))
    assert t.proxy_jump == SSHTarget("127.0.0.2", 22, "hop", alias="bastion")
    assert t.known_hosts_name == "[127.0.0.1]:2222"
    assert str(t) == "jetson@127.0.0.1:2222"


def test_explicit_user_and_port_win_over_config(ssh_config):
    t = resolve_host("me@orin:2200", ssh_config)
    assert (t.host, t.port, t.user) == ("127.0.0.1", 2200, "me")


def test_proxy_jump_chain_is_hop_by_hop(ssh_config):
    t = resolve_host("chain", ssh_config)
    second = t.proxy_jump
    assert (second.host, second.port, second.user) == ("second", 2022, "me")
    assert second.proxy_jump.host == "127.0.0.4"
    assert second.proxy_jump.proxy_jump is None


def test_plain_address_without_config(tmp_path):
    t = resolve_host("[::1]:2222", tmp_path / "missing-config")
    assert t == SSHTarget("::1", 2222, getpass.getuser())
    assert t.known_hosts_name == "[::1]:2222"
    assert str(t).endswith("@[::1]:2222")
    assert resolve_host("u@127.0.0.1", tmp_path / "missing").known_hosts_name == "127.0.0.1"


def test_target_is_frozen():
    with pytest.raises(AttributeError):
        SSHTarget("h").port = 2
