"""One device in use: how to reach it, its store, its agent.

``open_session(device, options)`` turns a device file (plus command-line overrides) into an open
:class:`DeviceSession`: a checked remote root, a transport (this host, or SSH), the content-addressed
store on the device and an :class:`AgentClient` for the agent bundle shipped there. The session
knows files, not artifacts: what to upload is decided by the run pipeline.
"""

from __future__ import annotations

import contextlib
import posixpath
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from edgetrt.config.devices import DeviceSpec
from edgetrt.device.agent_bundle import AgentBundle, build_agent_bundle
from edgetrt.device.agent_client import AgentClient, RunResult
from edgetrt.device.store import DeviceStore, LocalFile, TransferStats, check_remote_root
from edgetrt.device.transport import (CommandResult, LineTooLong, LocalTransport, ProgressCallback, RemoteProcess,
                                      Transport)


@dataclass(frozen=True)
class FirstRun:
    """What DeviceSession.probe needs to know of the cell that will follow it."""

    backend: str
    memory_limit_mb: int | None = None


@dataclass(frozen=True)
class ConnectOptions:
    """The SSH flags of `deploy`, `bench` and `doctor device --probe`."""

    host: str | None = None             # --host ALIAS|user@addr[:port]
    ssh_config: Path | None = None      # --ssh-config (default ~/.ssh/config)
    known_hosts: Path | None = None     # --known-hosts (default ~/.ssh/known_hosts)
    trust_new_host: bool = False
    remote_root: str | None = None      # --remote-root
    verify_store: bool = False          # --verify: hash every store file before using it
    connect_timeout: float = 10.0

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
        target = replace(target, key_files=(Path(device.connection.key_file).expanduser(),) + target.key_files)
    return SSHTransport(target, known_hosts=options.known_hosts, trust_new_host=options.trust_new_host,
                        connect_timeout=options.connect_timeout)


@contextlib.contextmanager
def open_session(device: DeviceSpec, options: ConnectOptions = ConnectOptions()):
    """A :class:`DeviceSession` on the device (checked root, the device's python), closed after."""
    root = remote_root_for(device, options)  # refused before anything connects
    with open_transport(device, options) as transport:
        # The local device runs the agent with this interpreter (it has the runtimes); over SSH,
        # with the python the device file names.
        python = None if device.is_local and not options.host else device.python
        session = DeviceSession(transport, root, python=python, verify_store=options.verify_store)
        try:
            yield session
        finally:
            session._end_held()


def expand_root(root: str, home: str) -> str:
    if root == "~" or root.startswith("~/"):
        root = posixpath.join(home, root[2:]) if root != "~" else home
    return posixpath.normpath(root)


class DeviceSession:
    def __init__(self, transport: Transport, remote_root: str = "~/.edgetrt", python: str | None = None,
                 verify_store: bool = False):
        self.transport = transport
        self.verify_store = verify_store  # --verify: every store file hashed, not only changed ones
        # Checked before home() connects, so a bad root never reaches the device.
        self.root = expand_root(check_remote_root(remote_root, "remote root"), transport.home())
        # For the local device the agent runs with this interpreter (it has the runtimes).
        self.python = python or (sys.executable if isinstance(transport, LocalTransport) else "python3")
        self.store = DeviceStore(transport, self.root, python=self.python)  # its helper needs Python too
        self._bundle: AgentBundle | None = None
        self._agent_uploaded = False
        #: the agent's session (probe(first_run=...)) waiting for the first cell's artifact and job
        self._held: RemoteProcess | None = None
        #: everything this session sent to the device's store (the agent included)
        self.sent = TransferStats(0, 0, 0, 0.0)

    @property
    def address(self) -> str:
        return self.transport.name

    # ---- files -------------------------------------------------------------------------------
    @property
    def bundle(self) -> AgentBundle:
        if self._bundle is None:
            self._bundle = build_agent_bundle()
        return self._bundle

    def _agent_file(self) -> LocalFile:
        return LocalFile(self.bundle.path, self.bundle.sha256, self.bundle.size)

    def upload(self, files: list[LocalFile], progress: ProgressCallback | None = None) -> TransferStats:
        """The agent and ``files`` into the store (files already there and verified are skipped)."""
        self._end_held()
        agent = [] if self._agent_uploaded else [self._agent_file()]  # checked once per session
        stats = self._add_sent(self.store.ensure_files(agent + list(files), progress=progress,
                                                       recheck=self.verify_store))
        self._agent_uploaded = True
        return stats

    def upload_artifact(self, files: list[LocalFile], directory_id: str, entries: list[tuple[str, str]],
                        progress: ProgressCallback | None = None) -> tuple[TransferStats, str]:
        """:meth:`upload`, then :meth:`assemble`: one remote command when nothing has to be sent."""
        self._end_held()
        agent = [] if self._agent_uploaded else [self._agent_file()]
        stats, remote_dir = self.store.ensure_artifact(agent + list(files), directory_id, entries, progress=progress,
                                                       recheck=self.verify_store)
        self._agent_uploaded = True
        return self._add_sent(stats), remote_dir

    def _add_sent(self, stats: TransferStats) -> TransferStats:
        s = self.sent
        self.sent = TransferStats(s.bytes_sent + stats.bytes_sent, s.files_sent + stats.files_sent,
                                  s.files_skipped + stats.files_skipped, s.seconds + stats.seconds,
                                  repaired=s.repaired + tuple(stats.repaired),
                                  links_removed=s.links_removed + tuple(stats.links_removed),
                                  rehashed=s.rehashed + stats.rehashed)
        return stats

    def assemble(self, directory_id: str, entries: list[tuple[str, str]]) -> str:
        """A directory on the device of links into the store: ``entries`` = (relative path, sha256)."""
        self._end_held()
        return self.store.materialize(directory_id, entries)

    def store_path(self, sha256: str) -> str:
        return self.store.store_path(sha256)

    # ---- the agent ---------------------------------------------------------------------------
    @property
    def agent(self) -> AgentClient:
        self._end_held()
        if not self._agent_uploaded:
            self.upload([])
        return self._agent_client()

    def _agent_client(self) -> AgentClient:
        return AgentClient(self.transport, [self.python, self.store.store_path(self.bundle.sha256)], self.python)

    def probe(self, tensorrt_modules: bool = True, first_run: FirstRun | None = None) -> dict:
        """The device's facts; ``tensorrt_modules=False`` when no TensorRT run is planned (the
        agent then imports no TensorRT module: AgentClient.probe_args).

        ``first_run``: a cell will follow (upload_artifact_and_run). The probe is then made by an
        agent session that stays to check and assemble that cell's artifact and run it: one
        remote command, one agent process, its measuring child started before the probe."""
        self._end_held()
        if first_run is not None:
            return self._probe_held(tensorrt_modules, first_run)
        if self._agent_uploaded:
            return self.agent.probe(tensorrt_modules=tensorrt_modules)
        # First contact: the agent's check in the store and the probe in one remote command
        # (the store's helper becomes the agent when the agent is there and verified).
        client = self._agent_client()
        stats, answer = self.store.ensure_files_then_run(
            [self._agent_file()], client.argv(client.probe_args(tensorrt_modules)), recheck=self.verify_store,
            timeout=client.PROBE_TIMEOUT_S, max_stdout=client.MAX_ANSWER_BYTES)
        self._add_sent(stats)
        self._agent_uploaded = True
        if answer is None:
            return client.probe(tensorrt_modules=tensorrt_modules)
        return client.probe(answer, tensorrt_modules=tensorrt_modules)

    def _probe_held(self, tensorrt_modules: bool, first_run: FirstRun) -> dict:
        client = self._agent_client()
        args = client.session_args(self.root, tensorrt_modules, self.verify_store, first_run.backend,
                                   first_run.memory_limit_mb)
        agent = [] if self._agent_uploaded else [self._agent_file()]
        stats, held = self.store.start_checked(agent, client.argv(args), recheck=self.verify_store)
        self._agent_uploaded = True
        self._add_sent(stats)
        try:
            try:
                line = held.readline(timeout=client.PROBE_TIMEOUT_S)
                answer = (CommandResult(held.argv, 0, line, b"", 0.0) if line.strip() else held.wait(timeout=10))
            except LineTooLong:
                # the agent client's own refusal of an answer past its size cap (an AgentError)
                answer = CommandResult(held.argv, 0, b"", b"", 0.0, stdout_truncated=True)
            facts = client.probe(answer, tensorrt_modules=tensorrt_modules)
        except BaseException:
            held.close()
            raise
        self._held = held
        return facts

    def _end_held(self) -> None:
        """End the agent's session if it still waits (its stdin closed: it exits, and stops the
        measuring child it started)."""
        if self._held is not None:
            held, self._held = self._held, None
            held.close()

    def run(self, spec: dict, timeout_s: float, memory_limit_mb: int | None = None) -> RunResult:
        specs = [dict(spec, timeout_s=timeout_s, memory_limit_mb=memory_limit_mb)]
        return self.agent.run(specs, timeout_s, workdir=self._workdir())[0]

    def _workdir(self) -> str:
        # The measuring child's scratch files stay inside the edgetrt root (the store made tmp/).
        return posixpath.join(self.root, "tmp")

    def upload_artifact_and_run(self, files: list[LocalFile], directory_id: str, entries: list[tuple[str, str]],
                                spec: dict, timeout_s: float, memory_limit_mb: int | None = None,
                                progress: ProgressCallback | None = None
                                ) -> tuple[TransferStats, str, RunResult | None]:
        """:meth:`upload_artifact`, then :meth:`run` of ``spec`` in the assembled directory, in one
        remote command when nothing has to be sent (the store's helper checks the files, assembles
        the artifact and becomes the agent): (stats, the directory, the result). The result is
        None when a file had to be sent: the caller then runs ``spec`` itself."""
        client = self._agent_client()
        specs = [dict(spec, artifact_dir=self.store.artifact_path(directory_id), timeout_s=timeout_s,
                      memory_limit_mb=memory_limit_mb)]
        job, timeout = client.job_line(specs, self._workdir()), client.run_timeout(specs, timeout_s)
        if self._held is not None:
            held, self._held = self._held, None
            args = client.SESSION_ARGS
            stats, remote_dir, answer = self.store.continue_artifact_then_run(
                held, files, directory_id, entries, job, timeout=timeout, max_stdout=client.MAX_ANSWER_BYTES,
                progress=progress)
        else:
            agent = [] if self._agent_uploaded else [self._agent_file()]
            args = client.RUN_ARGS
            stats, remote_dir, answer = self.store.ensure_artifact_then_run(
                agent + list(files), directory_id, entries, client.argv(args), stdin=job, recheck=self.verify_store,
                timeout=timeout, max_stdout=client.MAX_ANSWER_BYTES, hold_stdin=True, progress=progress)
            self._agent_uploaded = True
        self._add_sent(stats)
        if answer is None:
            return stats, remote_dir, None
        doc, notes = client.read(answer, args, "run")
        return stats, remote_dir, client.run_results(doc, notes, specs)[0]

    def agent_identity(self) -> dict:
        """Which agent this session runs on the device, and with which interpreter."""
        return {"sha256": self.bundle.sha256, "path": self.store.store_path(self.bundle.sha256),
                "python": self.python}

    def close(self) -> None:
        self._end_held()
        self.transport.close()
