"""From a device spec (+ command-line overrides) to an open :class:`Transport`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from edgetrt.config.devices import DeviceSpec
from edgetrt.device.store import check_remote_root
from edgetrt.device.transport import LocalTransport, Transport


@dataclass(frozen=True)
class ConnectOptions:
    """The SSH flags of `deploy` and `bench`."""

    host: str | None = None             # --host ALIAS|user@addr[:port]
    ssh_config: Path | None = None      # --ssh-config (default ~/.ssh/config)
    known_hosts: Path | None = None     # --known-hosts (default ~/.ssh/known_hosts)
    trust_new_host: bool = False
    remote_root: str | None = None      # --remote-root
    connect_timeout: float = 10.0
    verify_store: bool = False          # --verify: hash every store file before using it

    def __post_init__(self):
        if self.remote_root is not None:
            check_remote_root(self.remote_root, "--remote-root")


def remote_root_for(device: DeviceSpec, options: ConnectOptions) -> str:
    """The device directory to use (--remote-root wins over the device file), checked."""
    if options.remote_root is not None:
        return check_remote_root(options.remote_root, "--remote-root")
    return check_remote_root(device.remote_root, f"remote_root in {device.source or device.name}")


def open_transport(device: DeviceSpec, options: ConnectOptions) -> Transport:
    if device.is_local and not options.host:
        return LocalTransport()
    from edgetrt.device.hostspec import resolve_host
    from edgetrt.device.ssh import SSHTransport

    if options.host:
        value = options.host
    else:
        conn = device.connection
        if conn.ssh_alias:
            value = conn.ssh_alias
        else:
            value = (f"{conn.user}@" if conn.user else "") + conn.host + (f":{conn.port}" if conn.port else "")
    target = resolve_host(value, options.ssh_config)
    if not options.host and device.connection and device.connection.key_file:
        from dataclasses import replace

        target = replace(target, key_files=(Path(device.connection.key_file).expanduser(),) + target.key_files)
    return SSHTransport(target, known_hosts=options.known_hosts, trust_new_host=options.trust_new_host,
                        connect_timeout=options.connect_timeout)


@contextlib.contextmanager
def open_session(device: DeviceSpec, options: ConnectOptions):
    """A :class:`DeviceSession` on the device (checked root, the device's python), closed after."""
    from edgetrt.device.session import DeviceSession

    root = remote_root_for(device, options)  # refused before anything connects
    with open_transport(device, options) as transport:
        # The local device runs the agent with this interpreter (it has the runtimes); over SSH,
        # with the python the device file names.
        python = None if device.is_local and not options.host else device.python
        yield DeviceSession(transport, root, python=python, verify_store=options.verify_store)
