"""`edgetrt deploy` against a hostile or unlucky device root, through the real CLI and real sshd.

Planted links in tmp/ and store/, a byte flipped in a store file, twenty deploys into one root at
once and five pairs to one device at once. The device is this machine (see conftest.py), so the
tests look at what happened with plain ``os`` calls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from deploy_cli import REPO, check_store, sha256_of, tiny_onnx
from sshd_server import SSHServer

pytestmark = pytest.mark.ssh

MEASURE = ("--backend", "onnxruntime", "--duration", "0.2", "--iterations", "2", "--warmup-ms", "0")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A real ONNX model, converted once (the host cache is the session's) before any deploy."""
    path = tiny_onnx(tmp_path_factory.mktemp("models") / "tiny.onnx")
    proc = subprocess.run([sys.executable, "-m", "edgetrt", "convert", str(path), "--json"],
                          capture_output=True, text=True, cwd=REPO, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    listed = json.loads(proc.stdout)["artifacts"]
    artifacts = {Path(a["path"]).name: a["sha256"] for a in listed}
    # the artifact's manifest travels too (DeviceSession.upload): its hash names it in the store
    artifacts["manifest.json"] = sha256_of(Path(listed[0]["path"]).parent / "manifest.json")
    return path, artifacts


@pytest.fixture
def outside(tmp_path):
    victim = tmp_path / "outside" / "victim.txt"
    victim.parent.mkdir()
    victim.write_bytes(b"precious\n")
    return victim


def assert_clean_root(root: Path) -> None:
    check_store(root)  # every store file hashes to its name, none is a link
    assert not list((root / "tmp").iterdir()), sorted((root / "tmp").iterdir())
    for link in (root / "artifacts").rglob("*"):
        if link.is_symlink():
            assert Path(os.path.realpath(link)).parent == root / "store"


def assert_ok(deploy) -> dict:
    assert deploy.ok, deploy.describe()
    (run,) = deploy.report["runs"]
    assert run["status"] == "ok", run
    return deploy.report


def test_links_planted_in_tmp_and_store_are_removed_and_nothing_outside_changes(
        sshd, deployer, model, tmp_path, outside):
    path, artifacts = model
    onnx_sha = artifacts["model.onnx"]
    root = tmp_path / "device" / ".edgetrt"
    for sub in ("tmp", "store"):
        (root / sub).mkdir(parents=True)
    # tmp/<sha>.part is the name the upload of model.onnx used to write through
    planted = [root / "tmp" / f"{onnx_sha}.part", root / "store" / onnx_sha,
               root / "store" / artifacts["manifest.json"]]
    for link in planted:
        link.symlink_to(outside)
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in outside.parent.iterdir()}

    deploy = deployer.run(str(path), sshd, remote_root=root, extra=MEASURE)
    report = assert_ok(deploy)
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in outside.parent.iterdir()} == before
    removed = report["transfer"]["links_removed"]
    assert sorted(r["path"] for r in removed) == sorted(map(str, planted))
    assert {r["target"] for r in removed} == {str(outside)}
    assert_clean_root(root)


def test_a_link_in_place_of_tmp_is_one_line_and_nothing_is_written(sshd, deployer, model, tmp_path, outside):
    path, _ = model
    root = tmp_path / "device" / ".edgetrt"
    root.mkdir(parents=True)
    (root / "tmp").symlink_to(outside.parent, target_is_directory=True)
    line = deployer.run(str(path), sshd, remote_root=root, extra=MEASURE).error_line()
    assert f"{root}/tmp is a symbolic link (to {outside.parent})" in line, line
    assert sorted(os.listdir(outside.parent)) == ["victim.txt"]


def flip_byte(path: Path, at: int = 100) -> None:
    with open(path, "r+b") as fh:
        fh.seek(at)
        byte = fh.read(1)
        fh.seek(at)
        fh.write(bytes([byte[0] ^ 0xFF]))


def test_a_flipped_byte_in_a_store_file_is_detected_and_repaired(sshd, deployer, model, tmp_path):
    path, artifacts = model
    root = tmp_path / "device" / ".edgetrt"
    assert_ok(deployer.run(str(path), sshd, remote_root=root, extra=MEASURE))
    stored = root / "store" / artifacts["model.onnx"]
    flip_byte(stored)
    assert sha256_of(stored) != stored.name

    report = assert_ok(deployer.run(str(path), sshd, remote_root=root, extra=MEASURE))
    transfer = report["transfer"]
    (repair,) = transfer["repaired"]
    assert (repair["sha256"], repair["name"]) == (artifacts["model.onnx"], "model.onnx")
    assert repair["reason"].startswith("contents changed")
    assert (transfer["files_sent"], transfer["bytes_sent"]) == (1, stored.stat().st_size)
    assert sha256_of(stored) == stored.name
    assert_clean_root(root)

    again = assert_ok(deployer.run(str(path), sshd, remote_root=root, extra=MEASURE))["transfer"]
    assert (again["bytes_sent"], again["repaired"], again["rehashed"]) == (0, [], 0)


def test_verify_hashes_what_the_recorded_stat_would_trust(sshd, deployer, model, tmp_path):
    path, artifacts = model
    root = tmp_path / "device" / ".edgetrt"
    assert_ok(deployer.run(str(path), sshd, remote_root=root, extra=MEASURE))
    stored = root / "store" / artifacts["model.onnx"]
    flip_byte(stored)
    st = stored.lstat()  # forge the record: the cheap check now trusts the damaged file
    (root / "verified" / stored.name).write_text(
        f"v1 {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino} {st.st_dev}\n")
    trusted = assert_ok(deployer.run(str(path), sshd, remote_root=root, extra=MEASURE))["transfer"]
    assert trusted["bytes_sent"] == 0 and trusted["repaired"] == []

    verified = assert_ok(deployer.run(str(path), sshd, remote_root=root, extra=MEASURE + ("--verify",)))
    transfer = verified["transfer"]
    assert [r["name"] for r in transfer["repaired"]] == ["model.onnx"]
    assert transfer["rehashed"] == transfer["files_sent"] + transfer["files_skipped"]
    assert_clean_root(root)


# ---- many deploys at once ---------------------------------------------------------------------

@pytest.fixture
def busy_sshd(tmp_path):
    # sshd drops unauthenticated connections at random beyond MaxStartups (default 10:30:100);
    # twenty clients connecting in the same second are not what this test is about.
    server = SSHServer.start(tmp_path / "sshd", extra_config="MaxStartups 100\nMaxSessions 50")
    yield server
    server.stop()


def deploy_all(deployer, server, model_path, roots, tmp_path):
    """Start one deploy per root at the same moment; return them and the wall time."""
    deployer.device_file(server)
    ssh_config = deployer.ssh_config(server.client_key)
    barrier = threading.Barrier(len(roots))
    results: list = [None] * len(roots)

    def one(i):
        barrier.wait()
        results[i] = deployer.run(str(model_path), None, host=server.address, known_hosts=server.known_hosts,
                                  ssh_config=ssh_config, remote_root=roots[i], extra=MEASURE, timeout=600)

    started = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(roots))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.monotonic() - started


def lock_intervals(deploys) -> list[tuple[float, float]]:
    spans = []
    for d in deploys:
        lock = d.report["runs"][0]["device_lock"]
        assert lock["path"].endswith("/locks/measure.lock")
        spans.append((lock["acquired_at"], lock["released_at"]))
    return sorted(spans)


def assert_no_overlap(spans) -> None:
    for (_, end), (start, _) in zip(spans, spans[1:]):
        assert end <= start, f"two measurements overlapped: {spans}"


def test_twenty_simultaneous_deploys_into_one_root(busy_sshd, deployer, model, tmp_path):
    path, artifacts = model
    root = tmp_path / "device" / ".edgetrt"
    deploys, seconds = deploy_all(deployer, busy_sshd, path, [root] * 20, tmp_path)
    failed = [d.describe() for d in deploys if not d.ok]
    assert not failed, failed
    for d in deploys:
        assert_ok(d)
    assert_clean_root(root)
    assert {artifacts["model.onnx"], artifacts["manifest.json"]} <= {p.name for p in (root / "store").iterdir()}
    assert_no_overlap(lock_intervals(deploys))
    sent = sum(d.report["transfer"]["files_sent"] for d in deploys)
    waited = sorted(d.report["runs"][0]["device_lock"]["waited_ms"] for d in deploys)
    print(f"\n20 deploys into one root: 20 ok in {seconds:.1f} s; {sent} uploads in all; "
          f"lock waits {waited[0]:.0f}..{waited[-1]:.0f} ms")


def test_five_simultaneous_pairs_to_one_device_queue_their_measurements(busy_sshd, deployer, model, tmp_path):
    path, _ = model
    root = tmp_path / "device" / ".edgetrt"
    waits = []
    for pair in range(5):
        deploys, seconds = deploy_all(deployer, busy_sshd, path, [root, root], tmp_path)
        failed = [d.describe() for d in deploys if not d.ok]
        assert not failed, (pair, failed)
        for d in deploys:
            assert_ok(d)
        assert_no_overlap(lock_intervals(deploys))
        waits.append(max(d.report["runs"][0]["device_lock"]["waited_ms"] for d in deploys))
    assert_clean_root(root)
    print(f"\n5 pairs to one device: 10 ok; the second of each pair waited {waits} ms")
