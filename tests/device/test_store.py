"""DeviceStore over every transport (the ``device`` fixture: local, and ssh when sshd exists)."""

from __future__ import annotations

import os
import posixpath
import time

import pytest

from edgetrt.device.store import DeviceStore, LocalFile, MANIFEST_NAME, check_relative_path
from edgetrt.errors import EdgetrtError, TransportError, UsageError


def make_file(tmp_path, name, size, seed=0):
    path = tmp_path / name
    path.write_bytes(os.urandom(size) if seed is None else bytes((i * 7 + seed) % 251 for i in range(size)))
    return LocalFile.from_path(path)


def test_upload_then_unchanged_sends_nothing(device, tmp_path):
    store = DeviceStore(device.transport, device.root)
    files = [make_file(tmp_path, f"f{i}", 1000 * i + 1, seed=i) for i in range(5)]
    files.append(make_file(tmp_path, "empty", 0))

    first = store.ensure_files(files)
    assert (first.files_sent, first.files_skipped) == (6, 0)
    assert first.bytes_sent == sum(f.size for f in files)
    for f in files:
        assert device.read(store.store_path(f.sha256)) == f.path.read_bytes()

    second = store.ensure_files(files)
    assert (second.bytes_sent, second.files_sent, second.files_skipped) == (0, 0, 6)
    assert device.listdir(posixpath.join(store.root, "tmp")) == []


def test_duplicate_contents_are_sent_once(device, tmp_path):
    store = DeviceStore(device.transport, device.root)
    a = make_file(tmp_path, "a", 500, seed=3)
    b = make_file(tmp_path, "b", 500, seed=3)
    stats = store.ensure_files([a, b])
    assert (stats.files_sent, stats.files_skipped, stats.bytes_sent) == (1, 0, 500)


def test_resume_from_partial_part_file(device, tmp_path):
    store = DeviceStore(device.transport, device.root)
    f = make_file(tmp_path, "big", 300_000, seed=None)
    store.ensure_files([])  # creates the layout
    device.write(store.part_path(f.sha256), f.path.read_bytes()[:123_456])

    stats = store.ensure_files([f])
    assert stats.bytes_sent == 300_000 - 123_456
    assert device.read(store.store_path(f.sha256)) == f.path.read_bytes()
    assert not device.exists(store.part_path(f.sha256))


def test_corrupt_part_file_is_discarded_and_resent_from_zero(device, tmp_path):
    store = DeviceStore(device.transport, device.root)
    f = make_file(tmp_path, "big", 100_000, seed=None)
    store.ensure_files([])
    device.write(store.part_path(f.sha256), b"\0" * 50_000)  # right length prefix, wrong bytes

    stats = store.ensure_files([f])
    assert stats.bytes_sent == 50_000 + 100_000  # resumed once, failed the check, sent again
    assert device.read(store.store_path(f.sha256)) == f.path.read_bytes()


def test_file_changed_after_hashing_is_refused_and_never_stored(device, tmp_path):
    store = DeviceStore(device.transport, device.root)
    f = make_file(tmp_path, "x", 1000, seed=1)
    f.path.write_bytes(b"y" * 1000)  # same size, other contents
    with pytest.raises(TransportError, match="SHA-256"):
        store.ensure_files([f])
    assert not device.exists(store.store_path(f.sha256))
    assert device.listdir(posixpath.join(store.root, "tmp")) == []


def test_a_damaged_store_file_is_detected_and_replaced_on_the_next_call(device, tmp_path):
    store = DeviceStore(device.transport, device.root)
    f = make_file(tmp_path, "x", 4000, seed=2)
    store.ensure_files([f])
    path = store.store_path(f.sha256)
    st = os.stat(path)
    with open(path, "r+b") as fh:  # one byte flipped in place
        fh.seek(1234)
        byte = fh.read(1)
        fh.seek(1234)
        fh.write(bytes([byte[0] ^ 0x01]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # even with its mtime put back (ctime moved)
    stats = store.ensure_files([f])
    assert (stats.bytes_sent, stats.files_sent, stats.rehashed) == (4000, 1, 1)
    (repair,) = stats.repaired
    assert repair["sha256"] == f.sha256 and repair["name"] == "x"
    assert repair["reason"].startswith("contents changed (SHA-256 ")
    assert device.read(path) == f.path.read_bytes()
    again = store.ensure_files([f])  # the repaired file was recorded: trusted, not hashed again
    assert (again.bytes_sent, again.rehashed, again.repaired) == (0, 0, ())


def test_verify_hashes_a_file_whose_record_was_forged(device, tmp_path):
    """Without --verify a file whose stat matches its record is trusted; --verify hashes it."""
    store = DeviceStore(device.transport, device.root)
    f = make_file(tmp_path, "x", 4000, seed=2)
    store.ensure_files([f])
    path = store.store_path(f.sha256)
    device.write(path, b"z" * 4000)
    st = os.lstat(path)
    record = posixpath.join(store.root, "verified", f.sha256)
    device.write(record, f"v1 {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino} {st.st_dev}\n".encode())
    later = st.st_ctime_ns + 10**9
    os.utime(record, ns=(later, later))  # dated after the file's change, as a real record is
    assert store.ensure_files([f]).bytes_sent == 0  # the record says "verified": one round trip
    stats = store.ensure_files([f], recheck=True)
    assert stats.bytes_sent == 4000 and stats.rehashed == 1 and len(stats.repaired) == 1
    assert device.read(path) == f.path.read_bytes()


def test_a_record_from_the_files_own_clock_tick_is_not_trusted(device, tmp_path):
    """A change within the tick a record was written in leaves mtime and ctime as recorded
    (file times come from a coarse clock): such a record is hashed past, never believed."""
    store = DeviceStore(device.transport, device.root)
    f = make_file(tmp_path, "x", 4000, seed=2)
    store.ensure_files([f])
    path = store.store_path(f.sha256)
    record = posixpath.join(store.root, "verified", f.sha256)
    recorded = os.stat(record).st_mtime_ns
    assert recorded > max(os.lstat(path).st_mtime_ns, os.lstat(path).st_ctime_ns)  # dated after
    device.write(path, b"z" * 4000)
    st = os.lstat(path)
    device.write(record, f"v1 {st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino} {st.st_dev}\n".encode())
    os.utime(record, ns=(st.st_ctime_ns, st.st_ctime_ns))  # the record and the change: one tick
    stats = store.ensure_files([f])
    assert (stats.bytes_sent, stats.rehashed, len(stats.repaired)) == (4000, 1, 1)
    assert device.read(path) == f.path.read_bytes()


def test_no_record_is_written_while_the_file_clock_has_not_passed_the_change(tmp_path, monkeypatch):
    """On a file system whose clock does not move past the file's change within the settle time
    (whole seconds, say), no record is left: the next check hashes the file again."""
    from edgetrt.agent import store_ops

    store_ops.layout(str(tmp_path))
    st = os.lstat(tmp_path)
    future = time.time_ns() + 3600 * 10**9
    monkeypatch.setattr(store_ops, "RECORD_SETTLE_S", 0.01)
    fake = type("St", (), {"st_size": 1, "st_mtime_ns": future, "st_ctime_ns": future,
                           "st_ino": st.st_ino, "st_dev": st.st_dev})()
    store_ops.write_record(str(tmp_path), "a" * 64, fake, "t")
    assert os.listdir(tmp_path / "verified") == []


def test_a_store_file_of_the_wrong_size_is_replaced(device, tmp_path):
    store = DeviceStore(device.transport, device.root)
    f = make_file(tmp_path, "x", 4000, seed=2)
    store.ensure_files([f])
    device.write(store.store_path(f.sha256), b"short")
    stats = store.ensure_files([f])
    assert stats.bytes_sent == 4000 and stats.repaired[0]["reason"] == "size 5 bytes, expected 4000"
    assert stats.rehashed == 0  # a wrong size needs no hash to be wrong


def test_materialize_builds_symlinks_and_reuses(device, tmp_path):
    store = DeviceStore(device.transport, device.root)
    a = make_file(tmp_path, "a", 10, seed=1)
    b = make_file(tmp_path, "b", 20, seed=2)
    store.ensure_files([a, b])
    entries = [("model.onnx", a.sha256), ("calib/data.bin", b.sha256), ("./calib/copy.bin", b.sha256)]

    path = store.materialize("resnet50-fp16.1", entries)
    assert path == posixpath.join(store.root, "artifacts", "resnet50-fp16.1")
    assert device.read(posixpath.join(path, "model.onnx")) == a.path.read_bytes()
    assert device.read(posixpath.join(path, "calib/copy.bin")) == b.path.read_bytes()
    assert device.readlink(posixpath.join(path, "calib/data.bin")) == store.store_path(b.sha256)
    assert MANIFEST_NAME in device.listdir(path)

    assert store.materialize("resnet50-fp16.1", list(reversed(entries))) == path
    with pytest.raises(TransportError, match="different files"):
        store.materialize("resnet50-fp16.1", entries[:1])
    assert [n for n in device.listdir(posixpath.join(store.root, "tmp"))] == []


def test_materialize_refuses_files_missing_from_store(device, tmp_path):
    store = DeviceStore(device.transport, device.root)
    with pytest.raises(TransportError, match="not in the device store"):
        store.materialize("a1", [("m", "0" * 64)])
    assert not device.exists(store.artifact_path("a1"))


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../b", "a/..", "", ".", "a\0b",
                                 "a\nb", MANIFEST_NAME])
def test_path_escapes_are_rejected(device, bad):
    store = DeviceStore(device.transport, device.root)
    with pytest.raises(UsageError):
        store.materialize("ok", [(bad, "0" * 64)])
    assert not device.exists(store.artifact_path("ok"))


@pytest.mark.parametrize("bad_id", ["..", ".hidden", "a/b", "../../etc", "", "a b", "x" * 200])
def test_unsafe_artifact_ids_are_rejected(device, bad_id):
    store = DeviceStore(device.transport, device.root)
    with pytest.raises(UsageError, match="unsafe artifact id"):
        store.materialize(bad_id, [])


def test_bad_hashes_and_roots_are_rejected(device, tmp_path):
    with pytest.raises(UsageError):
        LocalFile(tmp_path / "x", "ABC", 1)
    with pytest.raises(UsageError):
        DeviceStore(device.transport, "relative/root")
    with pytest.raises(UsageError):
        DeviceStore(device.transport, "/")
    store = DeviceStore(device.transport, device.root)
    with pytest.raises(UsageError):
        store.store_path("../" + "0" * 61)


def test_file_and_directory_conflict_is_rejected(device, tmp_path):
    store = DeviceStore(device.transport, device.root)
    with pytest.raises(UsageError, match="both a file and a directory"):
        store.materialize("c", [("a", "0" * 64), ("a/b", "1" * 64)])


def test_check_relative_path_normalises():
    assert check_relative_path("a/./b//c") == "a/b/c"
    with pytest.raises(EdgetrtError):
        check_relative_path("a/../b")


def test_default_root_is_under_the_device_home():
    from edgetrt.device.transport import LocalTransport
    store = DeviceStore(LocalTransport())  # computes paths only; touches nothing
    assert store.root == posixpath.join(os.path.expanduser("~"), ".edgetrt")
    assert store.store_path("a" * 64) == posixpath.join(store.root, "store", "a" * 64)


def test_a_host_that_stops_sending_leaves_a_part_the_next_upload_resumes(device, tmp_path):
    """The follower reads the file on its stdin; nothing for STALL seconds (a host that froze, a
    link that died without a reset): it stops, keeps what arrived, and nothing enters store/."""
    store = DeviceStore(device.transport, device.root)
    f = make_file(tmp_path, "x", 3_000_000, seed=None)
    store.ensure_files([])
    follower = device.transport.start(store._ops_argv("follow", store.root, f.sha256, str(f.size),
                                                      "abcdef12", "-", "0.5"), hold_stdin=True)
    try:
        assert follower.readline(timeout=30) == b"ready 0"
        follower.write(f.path.read_bytes()[:1_000_000])
        gave_up = follower.wait(timeout=30)
    finally:
        follower.close()
    assert gave_up.exit_code == 0 and gave_up.stdout.strip() == b"ready 0"  # no outcome line
    part = store.part_path(f.sha256, "abcdef12")
    assert len(device.read(part)) == 1_000_000
    assert not device.exists(store.store_path(f.sha256))
    assert store.ensure_files([f]).bytes_sent == 2_000_000  # resumed after the kept megabyte
    assert device.read(store.store_path(f.sha256)) == f.path.read_bytes()
    assert device.listdir(posixpath.join(store.root, "tmp")) == []


def test_bytes_that_do_not_hash_to_the_name_are_never_stored(device, tmp_path):
    store = DeviceStore(device.transport, device.root)
    bad = make_file(tmp_path, "y", 1000, seed=4)
    bad.path.write_bytes(b"q" * 1000)  # same size, other bytes: sent twice, refused twice
    with pytest.raises(TransportError, match="SHA-256"):
        store.ensure_files([bad])
    assert not device.exists(store.store_path(bad.sha256))
    assert device.listdir(posixpath.join(store.root, "tmp")) == []


def test_a_file_many_buffers_long_arrives_whole_and_resumes_mid_buffer(device, tmp_path, monkeypatch):
    """The upload refills one read buffer (RemoteProcess.SEND_BLOCK); the device's follower reads
    its stdin into one buffer of its own (store_ops.READ_SIZE, 1 MiB) and hashes the part it
    resumes from the disk first. Sizes here divide neither, and the resumed part ends inside a
    buffer."""
    from edgetrt.device.transport import RemoteProcess

    monkeypatch.setattr(RemoteProcess, "SEND_BLOCK", 100_003)
    store = DeviceStore(device.transport, device.root)
    f = make_file(tmp_path, "big", (2 << 20) + 777, seed=None)
    store.ensure_files([])
    device.write(store.part_path(f.sha256), f.path.read_bytes()[:1_234_567])
    stats = store.ensure_files([f])
    assert stats.bytes_sent == f.size - 1_234_567
    assert device.read(store.store_path(f.sha256)) == f.path.read_bytes()
    assert store.ensure_files([f], recheck=True).rehashed == 1  # hashed again whole, and still right


def test_a_full_device_disk_is_named_before_any_byte_is_sent(tmp_path):
    """A real 20 MB tmpfs as the device disk: a 30 MB upload is refused up front, with the numbers."""
    import subprocess

    from edgetrt.device.store import DeviceStore, LocalFile
    from edgetrt.device.transport import LocalTransport
    from edgetrt.errors import TransportError

    mount = tmp_path / "small"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {proc.stderr.decode().strip()}")
    try:
        big = tmp_path / "big.bin"
        big.write_bytes(os.urandom(30 * 1024 * 1024))
        store = DeviceStore(LocalTransport(), str(mount / "root"))
        with pytest.raises(TransportError, match="not enough space") as info:
            store.ensure_files([LocalFile.from_path(big)])
        assert "MB are free" in str(info.value)
        assert not list((mount / "root" / "tmp").iterdir())
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_the_device_side_store_script_is_ascii():
    """It travels as `python3 -c SCRIPT`: a Jetson's Python 3.6 under the C locale (an SSH session
    without LANG) decodes argv as ASCII, and a non-ASCII character would not compile."""
    from edgetrt.device.store import OPS_SOURCE

    assert OPS_SOURCE.isascii()


def test_check_then_run_runs_nothing_on_an_artifact_with_other_files(device, tmp_path):
    """ensure_artifact_then_run: the helper becomes the command only once the artifact is built as
    asked; an artifact id already holding other files is refused and the command never starts."""
    import sys

    store = DeviceStore(device.transport, device.root, python=sys.executable)
    a, b = make_file(tmp_path, "a", 100, seed=1), make_file(tmp_path, "b", 100, seed=2)
    store.ensure_artifact([a, b], "art", [("x", a.sha256)])
    marker = tmp_path / "ran"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w').write('ran')"]
    with pytest.raises(TransportError, match="different files"):
        store.ensure_artifact_then_run([a, b], "art", [("x", b.sha256)], command)
    assert not marker.exists()

    stats, path, result = store.ensure_artifact_then_run([a, b], "art", [("x", a.sha256)], command + ["x"])
    assert result is not None and result.ok and marker.read_text() == "ran"
    assert (stats.files_sent, stats.files_skipped) == (0, 2) and path == store.artifact_path("art")


def test_check_then_run_leaves_the_rest_of_stdin_to_the_command(device, tmp_path):
    import sys

    store = DeviceStore(device.transport, device.root, python=sys.executable)
    a = make_file(tmp_path, "a", 100, seed=1)
    store.ensure_artifact([a], "art", [("x", a.sha256)])
    echo = [sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read())"]
    _, _, result = store.ensure_artifact_then_run([a], "art", [("x", a.sha256)], echo, stdin=b"the job\nline two\n")
    assert result.stdout == b"the job\nline two\n"


def test_what_arrives_is_flushed_to_disk_while_it_arrives(tmp_path, monkeypatch):
    """The follower flushes every FLUSH_EVERY bytes as the upload comes, so the fsync before the
    rename waits for the last part only (the disk writes while the network sends)."""
    import hashlib

    from edgetrt.agent import store_ops

    root = str(tmp_path / "root")
    store_ops.layout(root)
    monkeypatch.setattr(store_ops, "FLUSH_EVERY", 1 << 20)
    data = os.urandom((5 << 20) + 123)
    sha = hashlib.sha256(data).hexdigest()
    (tmp_path / "upload").write_bytes(data)  # what the host sends, all of it ready to read
    part = tmp_path / "root" / "tmp" / f"{sha}.abcdef12.part"
    fd = os.open(part, os.O_RDWR | os.O_CREAT)
    monkeypatch.setattr(store_ops, "take_part", lambda *args: (fd, str(part), 0))
    flushed = []
    real_fdatasync = os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda f: (flushed.append(f), real_fdatasync(f)))
    src = os.open(tmp_path / "upload", os.O_RDONLY)
    try:
        outcome = store_ops.follow_one(root, sha, len(data), "abcdef12", None, 5.0, src)
    finally:
        os.close(src)
    assert outcome["result"] == "ok"
    assert flushed == [fd] * 5  # at 1, 2, 3, 4 and 5 MiB; the rest by finish()'s fsync
    assert (tmp_path / "root" / "store" / sha).read_bytes() == data
