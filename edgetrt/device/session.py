"""One device in use: its store, its agent, and the agent's JSON answers."""

from __future__ import annotations

import json
import posixpath
import sys
from dataclasses import dataclass

from edgetrt.convert.artifacts import MANIFEST, Artifact, sha256_file
from edgetrt.device.agent_bundle import AgentBundle, build_agent_bundle
from edgetrt.device.store import DeviceStore, LocalFile, TransferStats, check_remote_root
from edgetrt.device.transport import LocalTransport, ProgressCallback, Transport
from edgetrt.errors import AgentError

AGENT_PROTOCOL = 1


@dataclass(frozen=True)
class UploadedArtifact:
    remote_dir: str
    transfer: TransferStats


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
        self.agent: AgentBundle | None = None

    # ---- uploads -----------------------------------------------------------------------------
    def upload(self, artifact: Artifact, progress: ProgressCallback | None = None,
               extra_files: list | None = None) -> UploadedArtifact:
        """Agent + artifact files into the store (skipping verified ones), then the artifact dir."""
        self.agent = build_agent_bundle()
        files = [LocalFile(self.agent.path, self.agent.sha256, self.agent.size)]
        entries = []
        for entry in artifact.files:
            files.append(LocalFile(artifact.path / entry["path"], entry["sha256"], entry["bytes"]))
            entries.append((entry["path"], entry["sha256"]))
        manifest_path = artifact.path / MANIFEST
        manifest_sha = sha256_file(manifest_path)
        files.append(LocalFile(manifest_path, manifest_sha, manifest_path.stat().st_size))
        entries.append((MANIFEST, manifest_sha))
        for extra in extra_files or []:
            files.append(extra)
        stats = self.store.ensure_files(files, progress=progress, recheck=self.verify_store)
        remote_dir = self.store.materialize(manifest_sha, entries)
        return UploadedArtifact(remote_dir, stats)

    def ensure_agent(self) -> None:
        if self.agent is None:
            self.agent = build_agent_bundle()
            self.store.ensure_files([LocalFile(self.agent.path, self.agent.sha256, self.agent.size)])

    @property
    def agent_command(self) -> list[str]:
        self.ensure_agent()
        return [self.python, self.store.store_path(self.agent.sha256)]

    # ---- agent calls -------------------------------------------------------------------------
    def call_agent(self, args: list[str], stdin: bytes | None = None, timeout: float | None = None) -> dict:
        result = self.transport.run(self.agent_command + args, stdin=stdin, timeout=timeout)
        lines = result.stdout.decode("utf-8", "replace").strip().splitlines()
        doc = None
        if lines:
            try:
                doc = json.loads(lines[-1])
            except ValueError:
                doc = None
        if not result.ok or not isinstance(doc, dict):
            tail = result.stderr_tail(1) or "(no output)"
            raise AgentError(f"the agent on {self.transport.name} failed ({args[0]}, exit "
                             f"{result.exit_code}): {tail}",
                             hint=f"is {self.python} (Python >= 3.6) installed on the device?")
        if doc.get("protocol") != AGENT_PROTOCOL:
            raise AgentError(f"the agent on {self.transport.name} speaks protocol "
                             f"{doc.get('protocol')!r}, this host expects {AGENT_PROTOCOL}")
        return doc

    def probe(self) -> dict:
        return self.call_agent(["probe"], timeout=120)["facts"]

    def run(self, spec: dict, timeout_s: float, memory_limit_mb: int | None = None) -> dict:
        # The measuring child's scratch files stay inside the edgetrt root (store.ensure_files made tmp/).
        job = {"runs": [dict(spec, timeout_s=timeout_s, memory_limit_mb=memory_limit_mb)],
               "workdir": posixpath.join(self.root, "tmp")}
        # The agent enforces timeout_s on the measuring child; allow it time to report after that.
        doc = self.call_agent(["run", "--job", "-"], stdin=json.dumps(job).encode(),
                              timeout=timeout_s + 120)
        runs = doc.get("runs") or []
        if len(runs) != 1:
            raise AgentError(f"the agent on {self.transport.name} returned {len(runs)} results for one run")
        # The agent names itself by the file it ran from (store/<sha256>): proof of which code measured.
        return dict(runs[0], agent=doc.get("agent"))

    def agent_identity(self) -> dict:
        """Which agent this session runs on the device, and with which interpreter."""
        self.ensure_agent()
        return {"sha256": self.agent.sha256, "path": self.store.store_path(self.agent.sha256),
                "python": self.python}

    def close(self) -> None:
        self.transport.close()
