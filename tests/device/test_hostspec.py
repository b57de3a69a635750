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


@pytest.mark.parametrize("bad, says", [
    ("h" * 5000, "--host is 5000 characters long (at most 512)"),
    ("a" * 64 + ".example.com", "is too long (DNS allows 253 characters, 63 between dots)"),
    (".".join(["abc"] * 70), "is too long"),
    ("u" * 65 + "@host", "invalid user name"),
    ("h\x1b[31m", "whitespace or control characters"),
    ("jetsön", "invalid address"),
])
def test_long_and_strange_host_values_are_one_line(bad, says):
    with pytest.raises(UsageError) as info:
        split_host_value(bad)
    assert says in str(info.value) and "\n" not in str(info.value) and len(str(info.value)) < 200


def test_a_long_host_name_from_the_ssh_config_is_refused(tmp_path):
    config = tmp_path / "config"
    config.write_text(f"Host far\n  HostName {'x' * 300}.lan\n")
    with pytest.raises(UsageError, match="ssh config HostName for far: host name 'xxx"):
        resolve_host("far", config)


def test_proxy_command_is_kept_with_its_tokens_expanded(tmp_path):
    config = tmp_path / "config"
    config.write_text("Host viaproxy\n  HostName 10.1.2.3\n  Port 2022\n  User me\n"
                      "  ProxyCommand ssh -W %h:%p bastion\n"
                      "Host direct\n  HostName 10.1.2.4\n  ProxyCommand none\n"
                      "Host both\n  ProxyCommand nc %h %p\n  ProxyJump bastion\n")
    t = resolve_host("viaproxy", config)
    assert t.proxy_command == "ssh -W 10.1.2.3:2022 bastion" and t.proxy_jump is None
    assert resolve_host("direct", config).proxy_command is None
    from edgetrt.errors import ConfigError

    with pytest.raises(ConfigError, match="both ProxyCommand and ProxyJump"):
        resolve_host("both", config)


def test_an_ssh_config_that_is_a_fifo_is_refused_not_waited_for(tmp_path):
    import os

    from edgetrt.errors import ConfigError

    config = tmp_path / "config"
    os.mkfifo(config)
    with pytest.raises(ConfigError, match="is a named pipe"):
        resolve_host("jetson", config)
