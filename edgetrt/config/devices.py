"""Device files: data/devices/<name>.yaml (and ~/.config/edgetrt/devices/) → frozen :class:`DeviceSpec`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from edgetrt.config import paths
from edgetrt.config.names import check_name, unknown_name
from edgetrt.config.profiles import load_profiles
from edgetrt.config.yamlfile import check_keys, expect_type, load_yaml, require_mapping
from edgetrt.errors import ConfigError

_KEYS = ("name", "profile", "description", "connection", "remote_root", "python")
_CONNECTION_KEYS = ("ssh", "host", "port", "user", "key_file")


@dataclass(frozen=True)
class Connection:
    ssh_alias: str | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    key_file: str | None = None

    def to_dict(self) -> dict:
        return {"ssh": self.ssh_alias, "host": self.host, "port": self.port, "user": self.user,
                "key_file": self.key_file}


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    profile: str
    facts: dict = field(hash=False, compare=False)
    description: str = ""
    connection: Connection | None = None
    remote_root: str = "~/.edgetrt"
    python: str = "python3"
    source: str = ""

    @property
    def is_local(self) -> bool:
        return self.connection is None

    def to_dict(self) -> dict:
        return {"name": self.name, "profile": self.profile, "description": self.description,
                "connection": self.connection.to_dict() if self.connection else None,
                "remote_root": self.remote_root, "python": self.python,
                "facts": dict(self.facts), "source": self.source}


def parse_device(path: Path, profiles: dict | None = None) -> DeviceSpec:
    profiles = profiles if profiles is not None else load_profiles()
    doc = load_yaml(path)
    data = require_mapping(doc, doc.data)
    check_keys(doc, data, _KEYS)
    # A device has one name: its file's. `name:` may repeat it, never differ from it (a device file
    # fname.yaml saying `name: other` would be listed as one and found as the other).
    name = check_name(expect_type(doc, data, "name", str) or Path(path).stem, "device name",
                      where=doc.where("name") if "name" in data else str(path))
    if name != Path(path).stem:
        raise ConfigError(f"{doc.where('name')}: the device is named {name!r} here but its file is "
                          f"{Path(path).name}: a device is called by its file's name",
                          hint=f"rename the file to {name}.yaml, or set name: {Path(path).stem} (or drop name:)")
    profile = expect_type(doc, data, "profile", str, required=True)
    if profile not in profiles:
        guess = difflib.get_close_matches(profile, list(profiles), n=1)
        raise ConfigError(f"{doc.where('profile')}: unknown profile {profile!r}",
                          hint=f"did you mean {guess[0]!r}?" if guess else
                          "profiles: " + ", ".join(profiles))
    conn_data = data.get("connection")
    connection = None
    if conn_data is not None:
        require_mapping(doc, conn_data, "connection")
        check_keys(doc, conn_data, _CONNECTION_KEYS, "connection")
        port = expect_type(doc, conn_data, "port", int, "connection")
        if port is not None and not 0 < port < 65536:
            raise ConfigError(f"{doc.where('connection', 'port')}: port {port} is out of range")
        def text(key: str, limit: int) -> str | None:
            value = expect_type(doc, conn_data, key, str, "connection")
            if value is not None:
                check_name(value, f"connection.{key}", where=doc.where("connection", key), limit=limit)
            return value

        # The address parts are checked fully (characters, ports) where they are resolved:
        # edgetrt.device.hostspec. Here: bounded, so a bad file is its own line.
        connection = Connection(ssh_alias=text("ssh", 255), host=text("host", 255), port=port,
                                user=text("user", 64), key_file=text("key_file", 4096))
        if not (connection.ssh_alias or connection.host):
            raise ConfigError(f"{doc.where('connection')}: connection needs 'ssh' (a Host alias "
                              "from ~/.ssh/config) or 'host'")
    elif profile != "local":
        raise ConfigError(f"{doc.where('profile')}: device {name!r} has no 'connection'",
                          hint="add connection: {ssh: <alias>} or pass --host user@addr")
    python = expect_type(doc, data, "python", str)
    if python is not None:
        check_name(python, "python", where=doc.where("python"), limit=4096)
    return DeviceSpec(
        name=name, profile=profile, facts=dict(profiles[profile]),
        description=expect_type(doc, data, "description", str) or "",
        connection=connection,
        remote_root=expect_type(doc, data, "remote_root", str) or "~/.edgetrt",
        python=python or "python3",
        source=str(path),
    )


def device_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in paths.device_dirs():
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                found[path.stem] = path
    return found


def load_devices() -> dict[str, DeviceSpec]:
    profiles = load_profiles()
    return {name: parse_device(path, profiles) for name, path in sorted(device_files().items())}


def load_device(name: str) -> DeviceSpec:
    check_name(name, "device name")
    files = device_files()
    if name not in files:
        raise unknown_name("device", name, files, "`edgetrt devices` lists them; add one in "
                                                  "~/.config/edgetrt/devices/")
    return parse_device(files[name])
