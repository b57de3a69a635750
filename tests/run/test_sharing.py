"""What the host passes from a group's first device to the others (run/sharing.py), on real files.

The "device" is a directory on this machine read through the real LocalTransport, recording which
paths it was asked to read: a path a device names outside its engine cache is never read.
"""

from __future__ import annotations

import hashlib
import os
from types import SimpleNamespace

import pytest

from edgetrt.config.devices import DeviceSpec
from edgetrt.config.profiles import load_profiles
from edgetrt.device.agent_client import RunResult
from edgetrt.device.transport import LocalTransport
from edgetrt.progress import Progress
from edgetrt.run import sharing
from edgetrt.run.execute import DeviceRun
from edgetrt.run.plan import DevicePlan


class ReadsRecorded(LocalTransport):
    """The real local transport, remembering every path it read."""

    def __init__(self):
        super().__init__()
        self.read = []

    def read_bytes(self, remote):
        self.read.append(remote)
        return super().read_bytes(remote)


class Warnings(Progress):
    def __init__(self):
        self.said = []

    def warn(self, text):
        self.said.append(text)


@pytest.fixture
def device(tmp_path):
    root = tmp_path / "nano1" / ".edgetrt"
    (root / "engines" / "timing").mkdir(parents=True)
    (tmp_path / "secret").write_bytes(b"not for sharing")
    return SimpleNamespace(root=str(root), transport=ReadsRecorded())


def run_on(name, tensorrt="8.2.1.8", results=()):
    spec = DeviceSpec(name, "nano", facts=load_profiles()["nano"])
    run = DeviceRun(DevicePlan(spec, ("tensorrt",), ("fp16",), (1,)))
    run.probe = {"facts": {"tensorrt": {"value": tensorrt},
                           "tensorrt_path": {"value": {"path": "python"}}}}
    run.results = list(results)
    return run


@pytest.mark.parametrize("named", [
    "{root}/engines/../../../secret",      # out of the cache by ../
    "{tmp}/secret",                        # absolute, elsewhere
    "/etc/passwd",
    "{root}/engines-elsewhere/x.engine",   # a sibling whose name starts like the cache's
    "{root}/engines",                      # the cache directory itself
    "{root}/engines/x.engine\x00/../../../secret",  # a NUL byte
    "engines/x.engine",                    # relative
])
def test_a_file_named_outside_the_engine_cache_is_never_read(device, tmp_path, named):
    progress = Warnings()
    remote = named.format(root=device.root, tmp=tmp_path)
    assert sharing._fetch(run_on("nano1"), device, remote, "engine", None, progress) is None
    assert device.transport.read == []
    assert "outside its engine cache" in progress.said[0] and device.root in progress.said[0]


def test_a_file_in_the_engine_cache_is_read_only_when_regular_and_of_the_size_recorded(device):
    engine = os.path.join(device.root, "engines", "a.engine")
    with open(engine, "wb") as fh:
        fh.write(b"PLAN")
    os.mkfifo(os.path.join(device.root, "engines", "fifo.engine"))  # reading it would never end
    progress = Warnings()
    assert sharing._fetch(run_on("nano1"), device, engine, "engine", 4, progress) == b"PLAN"
    assert sharing._fetch(run_on("nano1"), device, engine, "engine", 5, progress) is None
    assert sharing._fetch(run_on("nano1"), device, os.path.join(device.root, "engines", "fifo.engine"),
                          "engine", None, progress) is None
    assert device.transport.read == [engine]
    assert "not a regular file of the 5 bytes" in progress.said[0]


def timing_result(device, data, recorded=None, version="8.2.1.8"):
    path = os.path.join(device.root, "engines", "timing", f"tensorrt-{version}_sm53.cache")
    with open(path, "wb") as fh:
        fh.write(data)
    recorded = data if recorded is None else recorded
    fact = {"file": path, "sha256": hashlib.sha256(recorded).hexdigest(), "bytes": len(recorded), "reused": False,
            "key": {"library": "tensorrt", "version": version, "compute_capability": "5.3"}}
    return RunResult("tensorrt", "fp16", 1, "ok", facts={"engine": "built", "timing_cache": fact})


def test_a_timing_cache_is_fetched_checked_and_offered_to_the_same_build_only(device, tmp_path):
    leader = run_on("nano1", results=[timing_result(device, b"TIMING")])
    cache = sharing.fetch_timing_cache(leader, device, tmp_path / "host-cache", Warnings())
    assert cache.source == "nano1" and cache.path.read_bytes() == b"TIMING"
    assert sharing.offer_timing_cache_to(cache, run_on("nano2"))
    assert not sharing.offer_timing_cache_to(cache, run_on("odd1", tensorrt="8.2.1.9"))
    assert cache.refused["odd1"] == ("it was written by tensorrt 8.2.1.8 on sm_53, this device runs "
                                     "tensorrt 8.2.1.9 on sm_53")


def test_a_timing_cache_written_for_another_tensorrt_than_its_device_probed_is_offered_to_nobody(device, tmp_path):
    # nano1's probe found 8.2.1.8 but its agent wrote the cache of an 8.2.1.9 (a second install?)
    leader = run_on("nano1", results=[timing_result(device, b"TIMING", version="8.2.1.9")])
    cache = sharing.fetch_timing_cache(leader, device, tmp_path / "host-cache", Warnings())
    assert not sharing.offer_timing_cache_to(cache, run_on("nano2"))
    assert cache.refused["nano2"].startswith("it was written by tensorrt 8.2.1.9 on sm_53")


def test_a_timing_cache_changed_since_the_device_recorded_it_is_offered_to_nobody(device, tmp_path):
    # The file on the device is not what the device said it wrote (same size, other bytes).
    leader = run_on("nano1", results=[timing_result(device, b"CHANGED", recorded=b"TIMING!")])
    cache = sharing.fetch_timing_cache(leader, device, tmp_path / "host-cache", Warnings())
    assert cache.path is None and "does not hash to what the device recorded" in cache.refused["*"]
    assert not sharing.offer_timing_cache_to(cache, run_on("nano2"))
    assert not (tmp_path / "host-cache").exists()

    offers = sharing.pass_on({"group": [leader, run_on("nano2")]}, {"nano1": device}, tmp_path / "host-cache",
                             Warnings())
    assert offers["nano2"].timing_cache is None


def test_pass_on_notes_what_a_follower_was_not_given(device, tmp_path):
    leader, odd = run_on("nano1", results=[timing_result(device, b"TIMING")]), run_on("nano2", tensorrt="8.2.1.9")
    offers = sharing.pass_on({"group": [leader, odd]}, {"nano1": device}, tmp_path / "host-cache", Warnings())
    assert offers["nano2"].timing_cache is None
    assert odd.notes == ["the timing cache of nano1 was not passed on: it was written by tensorrt 8.2.1.8 on "
                         "sm_53, this device runs tensorrt 8.2.1.9 on sm_53"]


def from_agent(timing_cache=None, engine="built", **facts):
    doc = {"backend": "tensorrt", "precision": "fp16", "batch": 1, "status": "ok",
           "facts": dict(facts, engine=engine, **({"timing_cache": timing_cache} if timing_cache else {}))}
    return RunResult.from_agent(doc, device="nano2")


@pytest.mark.parametrize("fact, word", [
    (None, None),                                               # no build: no timing cache used
    ({"reused": False}, "new"),
    ({"reused": True}, "own"),
    ({"reused": True, "shared_from": "nano1"}, "shared from nano1"),
    ({"reused": True, "started_from": "nano1"}, "own, started from nano1's"),
    ({"reused": True, "offered_from": "nano1", "not_taken": "this device has a timing cache of its own, kept"},
     "own (nano1's not taken: this device has a timing cache of its own, kept)"),
    ({"reused": False, "offered_from": "nano1", "not_taken": "it was written by tensorrt 8.2.1.9 on sm_53"},
     "new (nano1's not taken: it was written by tensorrt 8.2.1.9 on sm_53)"),
])
def test_the_report_says_which_timing_cache_a_build_started_from(fact, word):
    assert from_agent(fact).timing_cache == word


def test_the_run_notes_show_the_timing_cache_after_the_engine():
    from edgetrt.cli.render import _cold_start_line

    run = from_agent({"reused": True, "shared_from": "nano1"}, build_ms=1500.0).to_dict()
    assert _cold_start_line(run).startswith("engine built (build 1.5 s), timing cache shared from nano1")
    shared = from_agent(None, engine="shared", shared_from="nano1", build_ms=1500.0).to_dict()
    assert "timing cache" not in _cold_start_line(shared)
