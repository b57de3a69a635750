"""The agent's session (probe(first_run=...)): one process that probes, then checks and assembles
the first cell's artifact and runs it, its measuring child started before the probe. Whatever
happens to it — no cell follows, the cell is of another backend, the host goes away mid-run — no
agent, no measuring child and no scratch directory is left on the device."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from edgetrt.agent.child_process import CHILD_NAME
from edgetrt.device.session import DeviceSession, FirstRun
from edgetrt.device.store import LocalFile
from edgetrt.device.transport import LocalTransport

MEASURING_CHILD = CHILD_NAME.decode()
NOOP = {"backend": "noop", "precision": "fp32", "batch": 1, "warmup_ms": 0, "min_iterations": 1, "min_seconds": 0}


def processes_under(root: Path) -> list[str]:
    """"NAME: COMMAND LINE" of the processes that name ``root`` (the agent's zipapp lives in its
    store); a measuring child's name is edgetrt-measure (a forked one has its agent's command line)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmdline = Path("/proc", pid, "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            name = Path("/proc", pid, "comm").read_text().strip()
        except OSError:
            continue
        if str(root) in cmdline:
            found.append(f"{name}: {cmdline}")
    return found


def measuring(process: str) -> bool:
    return process.startswith(f"{MEASURING_CHILD}: ")


def gone_soon(root: Path, seconds: float = 10.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while processes_under(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    return processes_under(root)


def session_with_artifact(tmp_path):
    root = tmp_path / "device"
    model = tmp_path / "manifest.json"
    model.write_bytes(b'{"formats": {}}\n')
    files = [LocalFile.from_path(model)]
    transport = LocalTransport()
    session = DeviceSession(transport, str(root), python=sys.executable)
    entries = [(f.path.name, f.sha256) for f in files]
    # a first deploy: the agent and the file sent, so that the next session finds both
    session.probe(first_run=FirstRun("noop"))
    _, _, result = session.upload_artifact_and_run(files, "artifact-1", entries, NOOP, timeout_s=60)
    assert result is None  # the file was sent: the session ended, the run is the caller's
    session.close()
    return root, DeviceSession(transport, str(root), python=sys.executable), files, entries


def test_a_session_with_no_cell_after_its_probe_leaves_nothing_running(tmp_path):
    root, session, _, _ = session_with_artifact(tmp_path)
    facts = session.probe(first_run=FirstRun("noop"))
    assert facts["facts"]["python"]["value"]
    assert any(measuring(c) and " session " in c for c in processes_under(root))  # forked, waiting
    session.close()
    assert gone_soon(root) == []


def test_the_prestarted_child_runs_the_first_cell_of_its_backend(tmp_path):
    root, session, files, entries = session_with_artifact(tmp_path)
    session.probe(first_run=FirstRun("noop"))
    stats, _, result = session.upload_artifact_and_run(files, "artifact-1", entries, NOOP, timeout_s=60)
    assert stats.bytes_sent == 0 and result.status == "ok", result.message
    assert result.exit["prestarted_s"] >= 0 and result.wall_s < 30
    assert gone_soon(root) == [] and os.listdir(root / "tmp") == []


def test_a_first_cell_of_another_backend_stops_the_prestarted_child(tmp_path):
    root, session, files, entries = session_with_artifact(tmp_path)
    session.probe(first_run=FirstRun("onnxruntime"))
    _, _, result = session.upload_artifact_and_run(files, "artifact-1", entries, NOOP, timeout_s=60)
    assert result.status == "ok", result.message
    assert "prestarted_s" not in result.exit  # a child of its own
    assert gone_soon(root) == [] and os.listdir(root / "tmp") == []


def test_the_host_going_away_mid_run_stops_the_session_and_its_child(tmp_path):
    root, session, files, entries = session_with_artifact(tmp_path)
    session.probe(first_run=FirstRun("noop"))
    ended = []

    def run():
        try:
            ended.append(session.upload_artifact_and_run(files, "artifact-1", entries,
                                                         dict(NOOP, min_seconds=120), timeout_s=300))
        except Exception as exc:  # noqa: BLE001 - the agent stopped: an error is what the host sees
            ended.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 30
    while not any(measuring(c) for c in processes_under(root)) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # the run is under way
    began = time.monotonic()
    session.transport.close()  # what Ctrl-C does (run/execute.py)
    worker.join(30)
    assert not worker.is_alive() and ended
    assert gone_soon(root) == [] and time.monotonic() - began < 15
    assert [n for n in os.listdir(root / "tmp") if n.startswith("edgetrt-run-")] == []
