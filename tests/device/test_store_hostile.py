"""The device store against planted links and concurrent users of one root (local and ssh).

The "device" is this machine (see conftest.py), so a link planted in the root can point at a
file beside it, and the test checks with plain ``os`` calls that nothing outside the root changed.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import posixpath
import threading
from pathlib import Path

import pytest

from edgetrt.device.store import DeviceStore
from edgetrt.device.transport import LocalTransport
from edgetrt.errors import TransportError

from test_store import make_file


@pytest.fixture
def outside(tmp_path):
    """A file outside the device root that a planted link points at; its bytes must not change."""
    victim = tmp_path / "outside" / "victim.txt"
    victim.parent.mkdir()
    victim.write_bytes(b"do not overwrite\n")
    return victim


def assert_clean(store: DeviceStore, files) -> None:
    """Every store file hashes to its name; tmp/ holds nothing; nothing in store/ is a link."""
    root = Path(store.root)
    for path in (root / "store").iterdir():
        assert path.is_file() and not path.is_symlink(), path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
    assert {f.sha256 for f in files} <= {p.name for p in (root / "store").iterdir()}
    assert sorted(os.listdir(root / "tmp")) == []


def test_links_planted_in_tmp_and_store_are_removed_not_written_through(device, tmp_path, outside):
    store = DeviceStore(device.transport, device.root)
    f = make_file(tmp_path, "model.onnx", 300_000, seed=None)
    other = make_file(tmp_path, "agent.pyz", 5000, seed=3)
    store.ensure_files([])  # the layout
    root = Path(store.root)
    # the part file name edgetrt used to write to, a name in today's pattern, and a store entry
    planted = [root / "tmp" / f"{f.sha256}.part", root / "tmp" / f"{f.sha256}.0123456789abcdef.part",
               root / "tmp" / "anything", root / "store" / other.sha256]
    for link in planted:
        link.symlink_to(outside)
    dir_link = root / "tmp" / f"artifact-x-{'0' * 8}"
    dir_link.symlink_to(outside.parent, target_is_directory=True)

    stats = store.ensure_files([f, other])
    assert outside.read_bytes() == b"do not overwrite\n"
    assert sorted(os.listdir(outside.parent)) == ["victim.txt"]
    assert {r["path"] for r in stats.links_removed} == {str(p) for p in planted + [dir_link]}
    assert all(r["target"] in (str(outside), str(outside.parent)) for r in stats.links_removed)
    assert stats.bytes_sent == f.size + other.size  # a link is never a part to resume
    assert_clean(store, [f, other])


def test_a_link_in_place_of_tmp_is_refused_in_one_line(device, tmp_path, outside):
    store = DeviceStore(device.transport, device.root)
    store.ensure_files([])
    tmp = Path(store.root) / "tmp"
    tmp.rmdir()
    tmp.symlink_to(outside.parent, target_is_directory=True)
    with pytest.raises(TransportError) as info:
        store.ensure_files([make_file(tmp_path, "m", 1000)])
    text = str(info.value)
    assert "\n" not in text and f"{tmp} is a symbolic link (to {outside.parent})" in text, text
    assert sorted(os.listdir(outside.parent)) == ["victim.txt"]


def test_a_link_in_place_of_an_artifact_is_removed_and_a_damaged_artifact_rebuilt(device, tmp_path, outside):
    store = DeviceStore(device.transport, device.root)
    a = make_file(tmp_path, "a", 10, seed=1)
    store.ensure_files([a])
    final = Path(store.artifact_path("art1"))
    final.parent.mkdir(exist_ok=True)
    final.symlink_to(outside.parent, target_is_directory=True)
    assert store.materialize("art1", [("model.onnx", a.sha256)]) == str(final)
    assert not final.is_symlink() and store.links_removed[0]["target"] == str(outside.parent)
    assert sorted(os.listdir(outside.parent)) == ["victim.txt"]

    (final / "model.onnx").unlink()
    (final / "model.onnx").symlink_to(outside)  # a damaged entry: rebuilt, not trusted
    store.materialize("art1", [("model.onnx", a.sha256)])
    assert os.readlink(final / "model.onnx") == store.store_path(a.sha256)
    assert outside.read_bytes() == b"do not overwrite\n"
    assert sorted(os.listdir(Path(store.root) / "tmp")) == []


def test_a_part_file_in_use_by_another_upload_is_left_alone(device, tmp_path):
    """A part whose flock is held (its follower is alive) is neither resumed nor removed."""
    store = DeviceStore(device.transport, device.root)
    f = make_file(tmp_path, "big", 200_000, seed=None)
    store.ensure_files([])
    busy = Path(store.part_path(f.sha256, "ab" * 8))
    busy.write_bytes(f.path.read_bytes()[:100_000])
    with open(busy, "rb") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        stats = store.ensure_files([f])
        assert stats.bytes_sent == 200_000  # not resumed from someone else's part
        assert busy.stat().st_size == 100_000
    assert device.read(store.store_path(f.sha256)) == f.path.read_bytes()
    assert store.ensure_files([f]).bytes_sent == 0  # now abandoned: tidied away
    assert not busy.exists()


def test_the_largest_abandoned_part_is_resumed_and_the_others_removed(device, tmp_path):
    store = DeviceStore(device.transport, device.root)
    f = make_file(tmp_path, "big", 200_000, seed=None)
    store.ensure_files([])
    data = f.path.read_bytes()
    for token, size in (("1" * 16, 10_000), ("2" * 16, 150_000), ("3" * 16, 90_000)):
        Path(store.part_path(f.sha256, token)).write_bytes(data[:size])
    Path(store.part_path(f.sha256, "4" * 16)).write_bytes(data + b"extra")  # longer than the file
    stats = store.ensure_files([f])
    assert stats.bytes_sent == 50_000
    assert_clean(store, [f])


@pytest.mark.parametrize("users", [8])
def test_concurrent_uploads_of_the_same_files_into_one_root(device, tmp_path, users):
    """Each user its own transport (its own connection), all at once, the same three files."""
    files = [make_file(tmp_path, f"f{i}", size, seed=None) for i, size in enumerate((2_000_000, 70_000, 0))]
    transports = [device.transport] + [another(device.transport) for _ in range(users - 1)]
    barrier = threading.Barrier(users)
    outcomes: list = [None] * users

    def deploy(i):
        try:
            barrier.wait()
            outcomes[i] = DeviceStore(transports[i], device.root).ensure_files(files)
        except BaseException as exc:  # reported below, with the others
            outcomes[i] = exc

    threads = [threading.Thread(target=deploy, args=(i,)) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for t in transports[1:]:
        t.close()
    errors = [o for o in outcomes if not hasattr(o, "bytes_sent")]
    assert not errors, errors
    assert_clean(DeviceStore(device.transport, device.root), files)
    store = DeviceStore(device.transport, device.root)
    assert store.ensure_files(files).bytes_sent == 0
    assert sorted(os.listdir(posixpath.join(store.root, "verified"))) == sorted(f.sha256 for f in files)


def another(transport):
    """A second transport to the same device (over SSH: its own connection)."""
    from edgetrt.device.ssh import SSHTransport

    if isinstance(transport, LocalTransport):
        return LocalTransport()
    assert isinstance(transport, SSHTransport)
    return SSHTransport(transport.target, known_hosts=transport.known_hosts, system_known_hosts=None,
                        connect_timeout=transport.connect_timeout)


def test_file_operations_refuse_symbolic_links(device, tmp_path, outside):
    link = tmp_path / "link"
    link.symlink_to(outside)
    with pytest.raises(TransportError, match="symbolic link"):
        device.transport.write_bytes(b"y", str(link))
    assert outside.read_bytes() == b"do not overwrite\n"
