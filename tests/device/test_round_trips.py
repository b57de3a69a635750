"""How many remote commands a deploy's device work costs, counted by a real sshd's own log.

A device session does, in order: find the home directory (SFTP), check the agent in the store and
probe, check the artifact's files, send the missing ones and assemble its directory, and run a
cell. The store's helper does the agent check and then becomes the agent for the probe; and it
checks the artifact's files, hashes each missing one as it arrives and assembles the artifact, in
one process. An unchanged deploy: three remote commands and one SFTP request, where each step
used to be a command of its own (five); a first deploy of two files: five commands (eight).

deploy and bench run a model's first cell through upload_artifact_and_run: the helper that checks
and assembles the artifact becomes the agent that runs the cell, so an unchanged deploy is two
remote commands; when a file is missing, it costs one command more than the two steps apart (the
check, then the check that takes the files as they arrive, then the run).

And they probe with the first cell named (probe(first_run=...)): the agent that probes stays, and
checks, assembles and runs the first cell as its next requests, so an unchanged deploy is one
remote command.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import paramiko
import pytest

from sshd_server import ssh_transport

from edgetrt.device.session import DeviceSession, FirstRun
from edgetrt.device.store import LocalFile

pytestmark = pytest.mark.ssh

NOOP = {"backend": "noop", "precision": "fp32", "batch": 1, "warmup_ms": 0, "min_iterations": 1, "min_seconds": 0}


class Counts:
    """Remote commands (exec requests) and SFTP sessions from sshd's log; SFTP requests from paramiko."""

    def __init__(self, server, monkeypatch):
        self.log = server.log
        self.requests = 0
        original = paramiko.SFTPClient._request

        def counted(client, t, *args):
            self.requests += 1
            return original(client, t, *args)

        monkeypatch.setattr(paramiko.SFTPClient, "_request", counted)
        self.mark()

    def mark(self):
        self._offset = len(self.log.read_bytes())
        self._requests = self.requests

    def since_mark(self) -> dict:
        text = self.log.read_bytes()[self._offset:].decode("utf-8", "replace")
        return {"commands": len(re.findall(r"Starting session: command", text)),
                "sftp_sessions": len(re.findall(r"Starting session: subsystem 'sftp'", text)),
                "sftp_requests": self.requests - self._requests}


def two_files_and_a_counted_device(fresh_sshd, monkeypatch, tmp_path):
    """A fresh sshd whose log counts remote commands, two artifact files, a device root."""
    server = fresh_sshd(extra_config="LogLevel VERBOSE")
    counts = Counts(server, monkeypatch)
    files = []
    for name, data in (("model.onnx", bytes(range(256)) * 1200), ("manifest.json", b'{"formats": {}}\n')):
        path = tmp_path / name
        path.write_bytes(data)
        files.append(LocalFile.from_path(path))
    return server, counts, files, str(tmp_path / "device" / ".edgetrt")


def deploy_once(server, root: str, files: list[LocalFile]) -> str:
    with ssh_transport(server) as transport:
        session = DeviceSession(transport, root, python=sys.executable)
        facts = session.probe()
        assert facts["facts"]["python"]["value"]
        entries = [(f.path.name, f.sha256) for f in files]
        _, remote_dir = session.upload_artifact(files, "artifact-1", entries)
        assert sorted(p.name for p in Path(remote_dir).iterdir()) == sorted(
            [".edgetrt-artifact.json"] + [f.path.name for f in files])
        result = session.run(dict(NOOP, artifact_dir=remote_dir), timeout_s=120)
        assert result.status == "ok", result.message
        return session.sent.to_dict()


def test_an_unchanged_deploy_takes_three_remote_commands(fresh_sshd, monkeypatch, tmp_path):
    server, counts, files, root = two_files_and_a_counted_device(fresh_sshd, monkeypatch, tmp_path)

    sent = deploy_once(server, root, files)
    first = counts.since_mark()
    assert sent["files_sent"] == 3  # the agent and both files
    # the agent: a check (which finds it missing), its upload, the probe; the artifact: one
    # command that checks, takes both files as they arrive and assembles; the run
    assert first["commands"] == 3 + 1 + 1, first

    counts.mark()
    sent = deploy_once(server, root, files)
    again = counts.since_mark()
    assert sent["bytes_sent"] == 0 and sent["files_skipped"] == 3
    assert again == {"commands": 3, "sftp_sessions": 1, "sftp_requests": 1}, again


def deploy_once_merged(server, root: str, files: list[LocalFile], first_run: FirstRun | None = None
                       ) -> tuple[dict, object]:
    """A deploy's device work as run/execute.py does it: probe (with ``first_run``: the agent's
    session, which stays for the cell), then the model's first cell through upload_artifact_and_run."""
    with ssh_transport(server) as transport:
        session = DeviceSession(transport, root, python=sys.executable)
        session.probe(first_run=first_run)
        entries = [(f.path.name, f.sha256) for f in files]
        _, remote_dir, result = session.upload_artifact_and_run(files, "artifact-1", entries, NOOP, timeout_s=120)
        if result is None:  # a file was sent: the run is the caller's
            result = session.run(dict(NOOP, artifact_dir=remote_dir), timeout_s=120)
        assert result.status == "ok", result.message
        assert sorted(p.name for p in Path(remote_dir).iterdir()) == sorted(
            [".edgetrt-artifact.json"] + [f.path.name for f in files])
        return session.sent.to_dict(), result


def test_an_unchanged_deploy_checks_its_artifact_and_runs_in_one_command(fresh_sshd, monkeypatch, tmp_path):
    server, counts, files, root = two_files_and_a_counted_device(fresh_sshd, monkeypatch, tmp_path)

    sent, _ = deploy_once_merged(server, root, files)
    first = counts.since_mark()
    assert sent["files_sent"] == 3
    # the agent: check, upload, probe; the artifact: a check that finds files missing, the check
    # that takes them as they arrive and assembles; the run
    assert first["commands"] == 3 + 2 + 1, first

    counts.mark()
    sent, result = deploy_once_merged(server, root, files)
    again = counts.since_mark()
    assert sent["bytes_sent"] == 0 and sent["files_skipped"] == 3
    assert again == {"commands": 2, "sftp_sessions": 1, "sftp_requests": 1}, again
    from edgetrt.device.agent_bundle import build_agent_bundle

    assert result.agent == build_agent_bundle().sha256  # the agent the helper became ran the cell


def test_a_store_file_changed_on_the_device_is_sent_again_before_the_probe(fresh_sshd, monkeypatch, tmp_path):
    """The combined check still verifies: a damaged agent is replaced, then probed (not run as found)."""
    server = fresh_sshd()
    root = tmp_path / "device" / ".edgetrt"
    path = tmp_path / "manifest.json"
    path.write_bytes(b'{"formats": {}}\n')
    files = [LocalFile.from_path(path)]
    deploy_once(server, str(root), files)
    agent = max((p for p in (root / "store").iterdir() if p.stat().st_size > 1000), key=lambda p: p.stat().st_size)
    agent.write_bytes(agent.read_bytes()[:-10] + b"#damaged!\n")  # same size, other contents
    sent = deploy_once(server, str(root), files)
    assert sent["files_sent"] == 1 and sent["repaired"] and sent["repaired"][0]["sha256"] == agent.name
    assert hashlib.sha256(agent.read_bytes()).hexdigest() == agent.name  # the real agent again


def test_an_unchanged_deploy_probes_checks_and_runs_in_one_command(fresh_sshd, monkeypatch, tmp_path):
    server, counts, files, root = two_files_and_a_counted_device(fresh_sshd, monkeypatch, tmp_path)

    sent, result = deploy_once_merged(server, root, files, FirstRun("noop"))
    first = counts.since_mark()
    assert sent["files_sent"] == 3
    # the agent: a check that finds it missing, its upload, the session; the artifact: the
    # session's check finds its files missing and ends, then the check that takes them as they
    # arrive and assembles; the run
    assert first["commands"] == 3 + 1 + 1, first
    assert "prestarted_s" not in result.exit  # run by a run command of its own

    counts.mark()
    sent, result = deploy_once_merged(server, root, files, FirstRun("noop"))
    again = counts.since_mark()
    assert sent["bytes_sent"] == 0 and sent["files_skipped"] == 3
    assert again == {"commands": 1, "sftp_sessions": 1, "sftp_requests": 1}, again
    from edgetrt.device.agent_bundle import build_agent_bundle

    assert result.agent == build_agent_bundle().sha256
    assert result.exit["prestarted_s"] >= 0  # the child started before the probe measured the cell
