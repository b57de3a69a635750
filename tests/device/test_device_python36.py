"""The device-side store helper and the measurement lock under a real CPython 3.6 (a Jetson Nano's).

vermin reads them as 3.6 code; this runs them: store_ops.py through DeviceStore with the 3.6
interpreter as the device's python3, and the agent's MeasureLock in two 3.6 processes at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from edgetrt.device.store import DeviceStore
from edgetrt.device.transport import LocalTransport

from ..conftest import REPO, pyenv_python  # noqa: TID252
from test_store import make_file

PYTHON36 = pyenv_python("3.6")
pytestmark = pytest.mark.skipif(PYTHON36 is None, reason="no CPython 3.6 on this machine")


def test_the_store_works_with_python36_on_the_device(tmp_path):
    store = DeviceStore(LocalTransport(), str(tmp_path / "root"), python=PYTHON36)
    files = [make_file(tmp_path, "a", 300_000, seed=None), make_file(tmp_path, "b", 10, seed=1)]
    store.ensure_files([])
    Path(store.part_path(files[0].sha256)).write_bytes(files[0].path.read_bytes()[:100_000])
    (Path(store.root) / "store" / files[1].sha256).symlink_to(tmp_path / "elsewhere")
    stats = store.ensure_files(files)
    assert stats.bytes_sent == 200_000 + 10 and len(stats.links_removed) == 1
    path = store.materialize("art", [("model.onnx", files[0].sha256), ("x/b", files[1].sha256)])
    assert (Path(path) / "x" / "b").read_bytes() == files[1].path.read_bytes()
    with open(store.store_path(files[0].sha256), "r+b") as fh:
        fh.write(b"\0")
    again = store.ensure_files(files)
    assert [r["name"] for r in again.repaired] == ["a"] and again.bytes_sent == 300_000
    assert os.listdir(Path(store.root) / "tmp") == []


LOCKER = """
import json, sys, time
sys.path.insert(0, {agent!r})
from device_lock import MeasureLock
lock = MeasureLock({workdir!r}).acquire()
time.sleep(0.5)
lock.release()
print(json.dumps(lock.info))
"""


def test_the_measurement_lock_queues_two_python36_processes(tmp_path):
    root = tmp_path / "root"
    (root / "tmp").mkdir(parents=True)
    code = LOCKER.format(agent=str(REPO / "edgetrt" / "agent"), workdir=str(root / "tmp"))
    procs = [subprocess.Popen([PYTHON36, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    infos = sorted((json.loads(p.communicate(timeout=30)[0]) for p in procs), key=lambda i: i["acquired_at"])
    assert infos[0]["released_at"] <= infos[1]["acquired_at"]
    assert infos[1]["waited_ms"] >= 300  # the second really waited for the first
    assert infos[0]["path"] == str(root / "locks" / "measure.lock")


def test_the_measurement_lock_refuses_a_planted_link(tmp_path):
    root = tmp_path / "root"
    (root / "tmp").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (root / "locks").symlink_to(tmp_path / "elsewhere")
    code = LOCKER.format(agent=str(REPO / "edgetrt" / "agent"), workdir=str(root / "tmp"))
    started = time.monotonic()
    proc = subprocess.run([PYTHON36, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 75 and "is not a directory (a symbolic link?)" in proc.stderr
    assert time.monotonic() - started < 10
    assert os.listdir(tmp_path / "elsewhere") == []
