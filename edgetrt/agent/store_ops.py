"""The device side of the content-addressed store: run on the device as ``python3 -c <this file>``.

Python 3.6, standard library only, no other module of the agent imported (the device has neither
edgetrt nor, yet, the agent). The host (``edgetrt.device.store``) sends this file's text with every
call, so host and device never disagree about it; the agent bundle carries the same file, so
``agent session`` checks and assembles an artifact in its own process (main.py).

Why the file operations live here and not in SFTP calls: SFTP cannot open without following a
symbolic link, cannot lock, and each call is a round trip. Here every open inside the root uses
O_NOFOLLOW, new files are created with O_EXCL, every rename is checked (by inode) to have moved
the file that was verified, and a part file is only touched by the process holding its flock.

Operations (one JSON document or line protocol on stdout; refusals exit 4 with one line on stderr):

``prepare ROOT VERIFY [--then COMMAND...]``  stdin: ``{"files": [[sha256, size], ...]}``, and
    optionally ``"materialize": {"id": ID, "manifest": text, "files": {relpath: sha256}}``; with
    --then one line, whatever follows it being COMMAND's input.
    Creates the layout, removes symbolic links planted in ``tmp/`` and ``store/``, checks each
    store file against its recorded size/mtime/ctime/inode (a full SHA-256 when those differ, or
    always with VERIFY=1), removes those that fail, and names for each missing file the largest
    abandoned part file to resume. When every file is in the store: builds the artifact asked for
    (as ``materialize``; its answer under "materialized"), and, once it is built, after printing
    its own line, replaces itself with COMMAND (the agent, say), whose output follows on stdout. So an
    unchanged deploy checks the agent and probes, or checks and assembles an artifact, in one
    remote command.
``prepare ROOT VERIFY --follow STALL``  stdin: the request above as one line, plus
    ``"tokens": {sha256: token}``; then receives every missing file in turn, as ``follow`` does,
    and builds the artifact asked for once all arrived (see ``follow_missing``).
``follow ROOT SHA SIZE TOKEN CANDIDATE STALL``  takes (or creates) the part file
    ``tmp/<sha>.<token>.part`` under an exclusive flock, prints ``ready <offset>``, then reads the
    file's remaining SIZE - offset bytes from stdin, writing and hashing them as they arrive, and
    on a match renames it into ``store/<sha>`` and records its stat. End of input (the host went
    away) or STALL seconds without a byte: the part is kept for the next upload to resume.
``materialize ROOT ID``  stdin: ``{"manifest": text, "files": {relpath: sha256}}``. Builds
    ``artifacts/<id>/`` (symbolic links into store/) under tmp/ and renames it into place.
"""

import errno
import fcntl
import json
import os
import re
import select
import stat
import sys
import time

SHA = re.compile(r"^[0-9a-f]{64}$")
TOKEN = re.compile(r"^[0-9a-f]{8,64}$")
PART = re.compile(r"^([0-9a-f]{64})(\.[0-9a-f]{8,64})?\.part$")
ARTIFACT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MANIFEST_NAME = ".edgetrt-artifact.json"
LAYOUT = ("store", "tmp", "artifacts", "verified", "locks")
RECORD_VERSION = "v1"
NOFOLLOW = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class Refused(Exception):
    """A state of the root that edgetrt will not work around: one line for the user."""


def main(argv):
    began = time.time()
    op, args = argv[0], argv[1:]
    try:
        if op == "prepare":
            then = args[3:] if len(args) > 3 and args[2] == "--then" else None
            stall = float(args[3]) if len(args) == 4 and args[2] == "--follow" else None
            # With --then, only the request's line: the rest of stdin is COMMAND's (a job, say);
            # with --follow, the files' bytes follow it
            request = json.loads(read_line(0) if then or stall is not None else sys.stdin.read())
            out = prepare(args[0], args[1] == "1", request)
            if then and complete(out):
                out["seconds"] = time.time() - began  # the host cannot tell this share of COMMAND's time
                emit(out)
                sys.stderr.flush()
                os.execvp(then[0], then)
            if stall is not None:
                emit(out)
                return follow_missing(args[0], request, out, stall)
        elif op == "follow":
            return follow(args[0], args[1], int(args[2]), args[3], args[4], float(args[5]))
        elif op == "materialize":
            out = materialize(args[0], args[1], json.loads(sys.stdin.read()))
        else:
            raise Refused("unknown store operation " + repr(op))
    except (Refused, OSError) as exc:
        return refused(exc, op)
    emit(out)
    return 0


def complete(out):
    """Whether prepare's answer found every file in the store and built (or reused) the artifact,
    when one was asked for: what it takes to go on to the command that uses them."""
    built = out.get("materialized", {"state": "built"}).get("state") in ("built", "reused")
    return built and all(f["state"] == "ok" for f in out["files"].values())


def refused(exc, op):
    """A Refused or an OSError as one line on stderr for the host's error message (no
    traceback); the exit status 4 that says so."""
    if isinstance(exc, Refused):
        sys.stderr.write(str(exc) + "\n")
    else:
        sys.stderr.write("{}: {}\n".format(exc.filename or op, exc.strerror or exc))
    return 4


def read_line(fd):
    """One line from ``fd``, read unbuffered so that nothing after it is taken from the process
    this helper becomes (os.execvp keeps the descriptor and its position, not Python's buffer)."""
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8")


def rmtree(path):
    # shutil only here: its import is a third of this helper's start (~7 ms), paid on every call
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def emit(doc):
    sys.stdout.write(json.dumps(doc, sort_keys=True) + "\n")
    sys.stdout.flush()


# ---- layout -------------------------------------------------------------------------------

def layout(root):
    """The root's own directories, created if missing; a link or a file in their place is refused."""
    if not os.path.isabs(root):
        raise Refused("store root {!r} is not absolute".format(root))
    os.makedirs(root, exist_ok=True)  # the root itself may be a link the user made: theirs to choose
    for name in LAYOUT:
        path = os.path.join(root, name)
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            pass
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            raise Refused("{} is a symbolic link (to {}); edgetrt keeps its own directories inside "
                          "the root and never writes through a link: remove it".format(
                              path, os.readlink(path)))
        if not stat.S_ISDIR(st.st_mode):
            raise Refused("{} is not a directory: remove it".format(path))


def remove_links(root, subdir):
    """Unlink every symbolic link directly inside ``root/subdir`` (edgetrt makes none there)."""
    removed = []
    directory = os.path.join(root, subdir)
    for entry in os.scandir(directory):
        if entry.is_symlink():
            try:
                target = os.readlink(entry.path)
                os.unlink(entry.path)
            except FileNotFoundError:
                continue  # removed by a concurrent deploy
            removed.append([subdir + "/" + entry.name, target])
    return removed


def lstat_or_none(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


# ---- records: what a verified store file looked like ---------------------------------------

def stat_key(st):
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def record_path(root, sha):
    return os.path.join(root, "verified", sha)


def read_record(root, sha, st):
    """Whether verified/<sha> vouches for the store file whose lstat is ``st``.

    It does when it names that stat key and was itself written strictly after the file last
    changed. File times come from a coarse clock (a kernel tick, or a whole second on some file
    systems), so a write within the tick the record was made in leaves mtime and ctime as they
    were: such a record could be vouching for bytes that changed after the hash (git's "racy
    clean" case), and is not trusted.
    """
    try:
        fd = os.open(record_path(root, sha), os.O_RDONLY | NOFOLLOW)
    except OSError:
        return False
    try:
        fields = os.read(fd, 256).decode("ascii", "replace").split()
        written = os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)
    if len(fields) != 6 or fields[0] != RECORD_VERSION:
        return False
    try:
        key = [int(f) for f in fields[1:]]
    except ValueError:
        return False
    return key == stat_key(st) and written > max(st.st_mtime_ns, st.st_ctime_ns)


# How long write_record waits for the file clock to pass the stored file's last change (a tick is
# 1-10 ms); on a file system counting whole seconds it gives up, and the next check hashes again.
RECORD_SETTLE_S = 0.05


def write_record(root, sha, st, token):
    """verified/<sha>: written under a unique name, dated after the file's last change, then
    renamed (readers never see half, nor a record from the file's own tick)."""
    final = record_path(root, sha)
    tmp = os.path.join(root, "verified", ".{}.{}".format(sha, token))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644)
    try:
        os.write(fd, (" ".join([RECORD_VERSION] + [str(v) for v in stat_key(st)]) + "\n").encode())
        changed = max(st.st_mtime_ns, st.st_ctime_ns)
        deadline = time.monotonic() + RECORD_SETTLE_S
        while os.fstat(fd).st_mtime_ns <= changed:
            if time.monotonic() > deadline:
                os.close(fd)
                fd = None
                os.unlink(tmp)
                return
            time.sleep(0.001)
            os.utime(fd)  # now, by the same clock that dated the stored file
    finally:
        if fd is not None:
            os.close(fd)
    os.rename(tmp, final)


def drop_record(root, sha):
    try:
        os.unlink(record_path(root, sha))
    except FileNotFoundError:
        pass


def _sha256():
    # hashlib only here: its import (OpenSSL's) is ~3 ms of this helper's start, paid on every
    # call, and an unchanged redeploy hashes nothing
    import hashlib

    return hashlib.sha256()


#: what one read hashes at most
READ_SIZE = 1 << 20


def read_buffer():
    """One buffer for every read of a hashing loop. os.pread allocates a new bytes object per call
    and shrinks it to what arrived: a follower that keeps up reads a little at a time, and each
    fresh 1 MiB allocation faults its pages in again (0.2 s of system time per 200 MB here)."""
    return memoryview(bytearray(READ_SIZE))


def pread_into(fd, view, offset):
    """Read into ``view`` at ``offset``; the byte count (0 at the end of the file)."""
    preadv = getattr(os, "preadv", None)  # Python 3.7+; the Nano's 3.6 seeks, then reads
    if preadv is not None:
        return preadv(fd, [view], offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.readv(fd, [view])


def hash_from_disk(h, fd, buf, size=None):
    """Feed ``h`` the first ``size`` bytes of ``fd`` (all of it when None), read into ``buf``;
    the bytes hashed (fewer than ``size`` when the file is shorter)."""
    offset = 0
    while size is None or offset < size:
        n = pread_into(fd, buf if size is None else buf[:min(READ_SIZE, size - offset)], offset)
        if not n:
            break
        h.update(buf[:n])
        offset += n
    return offset


def sha256_fd(fd, size=None):
    h = _sha256()
    hash_from_disk(h, fd, read_buffer(), size)
    return h.hexdigest()


# ---- prepare --------------------------------------------------------------------------------

def prepare(root, verify, request):
    layout(root)
    links = remove_links(root, "tmp") + remove_links(root, "store")
    files = {}
    token = os.urandom(8).hex()
    parts = parts_by_sha(root)
    for sha, size in request["files"]:
        if not SHA.match(sha) or not isinstance(size, int) or size < 0:
            raise Refused("bad store request {!r}".format([sha, size]))
        state, repaired, rehashed = check_store_file(root, sha, size, verify, token)
        entry = {"state": state, "repaired": repaired, "rehashed": rehashed, "part": None}
        if state == "missing":
            entry["part"] = pick_part(root, parts.get(sha, []), size)
        else:
            pick_part(root, parts.get(sha, []), -1)  # abandoned parts of a stored file: removed
        files[sha] = entry
    vfs = os.statvfs(root)
    out = {"files": files, "links_removed": links, "free": vfs.f_bavail * vfs.f_frsize}
    wanted = request.get("materialize")
    if wanted is not None and all(f["state"] == "ok" for f in files.values()):
        out["materialized"] = materialize(root, wanted["id"], wanted)
    return out


def check_store_file(root, sha, size, verify, token):
    """("ok"|"missing", why it was removed or None, whether it was hashed)."""
    path = os.path.join(root, "store", sha)
    st = lstat_or_none(path)
    if st is None:
        drop_record(root, sha)
        return "missing", None, False
    if stat.S_ISDIR(st.st_mode):
        raise Refused("{} is a directory, not a file: remove it".format(path))
    if not stat.S_ISREG(st.st_mode):
        os.unlink(path)
        drop_record(root, sha)
        return "missing", "not a regular file", False
    if st.st_size != size:
        unlink_if_same(path, st)
        drop_record(root, sha)
        return "missing", "size {} bytes, expected {}".format(st.st_size, size), False
    if not verify and read_record(root, sha, st):
        return "ok", None, False
    fd = os.open(path, os.O_RDONLY | NOFOLLOW)
    try:
        fst = os.fstat(fd)
        digest = sha256_fd(fd)
    finally:
        os.close(fd)
    if digest == sha:
        write_record(root, sha, fst, token)
        return "ok", None, True
    unlink_if_same(path, fst)
    drop_record(root, sha)
    return "missing", "contents changed (SHA-256 {})".format(digest), True


def unlink_if_same(path, st):
    now = lstat_or_none(path)
    if now is not None and (now.st_ino, now.st_dev) == (st.st_ino, st.st_dev):
        os.unlink(path)


def parts_by_sha(root):
    found = {}
    for entry in os.scandir(os.path.join(root, "tmp")):
        match = PART.match(entry.name)
        if match and entry.is_file(follow_symlinks=False):
            found.setdefault(match.group(1), []).append(entry.name)
    return found


def try_lock(path, flags=os.O_RDONLY):
    """(fd, stat) of ``path`` with an exclusive flock taken, or None when it is held or gone."""
    try:
        fd = os.open(path, flags | NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        st = os.fstat(fd)
        now = lstat_or_none(path)
        if not stat.S_ISREG(st.st_mode) or now is None or now.st_ino != st.st_ino:
            raise OSError(errno.ENOENT, "moved")
        return fd, st
    except OSError:
        os.close(fd)
        return None


def pick_part(root, names, size):
    """The largest abandoned (unlocked) part to resume from; smaller abandoned ones are removed.

    A part file whose flock is held belongs to an upload in progress (its follower holds it):
    left alone, whoever that is.
    """
    stale = []
    for name in names:
        path = os.path.join(root, "tmp", name)
        locked = try_lock(path)
        if locked is not None:
            stale.append((locked[1].st_size, name, locked[0], path))
    stale.sort(reverse=True)
    best = None
    for part_size, name, fd, path in stale:
        if best is None and part_size <= size:
            best = [name, part_size]
        else:
            os.unlink(path)  # held under our lock: nobody else can be resuming it
        os.close(fd)
    return best


# ---- follow: take the part, hash it as it arrives, commit it ----------------------------------

def take_part(root, sha, size, token, candidate):
    """Open ``tmp/<sha>.<token>.part`` under an exclusive flock: the candidate renamed, or new."""
    tmp = os.path.join(root, "tmp")
    mine = os.path.join(tmp, "{}.{}.part".format(sha, token))
    if candidate != "-":
        match = PART.match(candidate)
        if not match or match.group(1) != sha:
            raise Refused("bad part file name {!r}".format(candidate))
        path = os.path.join(tmp, candidate)
        locked = try_lock(path, os.O_RDWR)
        if locked is not None:
            fd, st = locked
            os.rename(path, mine)  # we hold its lock: no one else renames or removes it
            if st.st_size > size:
                os.ftruncate(fd, 0)
                return fd, mine, 0
            return fd, mine, st.st_size
    # Created under another name and locked before it is visible as a .part: prepare() never sees
    # an unlocked part that is in use.
    new = os.path.join(tmp, "{}.{}.new".format(sha, token))
    fd = os.open(new, os.O_RDWR | os.O_CREAT | os.O_EXCL | NOFOLLOW, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(new, mine)
    return fd, mine, 0


#: While a file arrives, what has arrived is flushed to the disk every this many bytes, so that
#: the fsync before its rename (finish) waits for the last part only: the disk writes while the
#: network sends, not after it (here the fsync of a 200 MB upload took 75 ms of its ~0.9 s; on
#: a Jetson's SD card, which writes 20-40 MB/s, it would take seconds).
FLUSH_EVERY = 16 << 20


#: the pipe from sshd that carries the upload: 64 KiB by default, so the helper would wake for
#: every 64 KiB and sshd wait on it in between; 1 MiB (Linux's default pipe-max-size) lets each
#: side move a megabyte per wake-up (measured: without it this path is slower than SFTP was)
PIPE_SIZE = 1 << 20
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # named in fcntl from Python 3.10


def widen_pipe(fd):
    try:
        fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE)
    except (OSError, IOError):
        pass  # not a pipe (a socket, a file), or a smaller limit: it still works, a little slower


def follow(root, sha, size, token, candidate, stall):
    layout(root)
    widen_pipe(0)
    outcome = follow_one(root, sha, size, token, candidate, stall, 0)
    if outcome is not None:
        emit(outcome)
    return 0


def write_all(fd, view, offset):
    while len(view):
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def follow_one(root, sha, size, token, candidate, stall, src):
    """Take the part, print ``ready <offset>``, then read the rest of the file from ``src`` (the
    host's upload, on stdin), writing and hashing it as it comes; the outcome, or None when the
    host went away or sent nothing for ``stall`` seconds (what arrived is kept: the next deploy
    resumes from it)."""
    if not SHA.match(sha) or not TOKEN.match(token) or size < 0:
        raise Refused("bad follow request")
    fd, mine, offset = take_part(root, sha, size, token, candidate)
    try:
        print("ready {}".format(offset))
        sys.stdout.flush()
        h = _sha256()
        buf = read_buffer()
        done = hash_from_disk(h, fd, buf, offset)  # what an earlier upload left
        if done < offset:
            raise Refused("{} shrank while it was resumed".format(mine))
        while done < size:
            if not select.select([src], [], [], stall)[0]:
                return None
            n = os.readv(src, [buf[:min(READ_SIZE, size - done)]])
            if not n:
                return None
            write_all(fd, buf[:n], done)
            h.update(buf[:n])
            if (done + n) // FLUSH_EVERY != done // FLUSH_EVERY:
                getattr(os, "fdatasync", os.fsync)(fd)
            done += n
        return finish(root, sha, size, fd, mine, h.hexdigest(), token)
    finally:
        os.close(fd)


def follow_missing(root, request, prepared, stall):
    """``prepare --follow``: after prepare's line, follow each missing file in the request's order
    (one ``ready`` line and one outcome line each, as ``follow`` prints them), then one last
    line: ``{"followed": N}``, with the artifact asked for under "materialized" once every file
    arrived verified. A fresh upload is then one remote command, not one per file and two more."""
    missing = [(sha, size) for sha, size in request["files"] if prepared["files"][sha]["state"] != "ok"]
    needed = sum(size - (prepared["files"][sha]["part"] or [None, 0])[1] for sha, size in missing)
    if missing and prepared["free"] < needed + int(request.get("reserve") or 0):
        # The host names the shortage from prepare's line; nothing is written (no part file).
        emit({"followed": 0, "short_of_space": True})
        return 0
    widen_pipe(0)
    tokens = request.get("tokens") or {}
    followed, all_ok = 0, True
    for sha, size in request["files"]:
        entry = prepared["files"][sha]
        if entry["state"] == "ok":
            continue
        token = tokens.get(sha)
        if not isinstance(token, str):
            raise Refused("no upload token for {}".format(sha))
        candidate = entry["part"][0] if entry["part"] else "-"
        outcome = follow_one(root, sha, size, token, candidate, stall, 0)
        if outcome is None:
            return 0
        emit(outcome)
        followed += 1
        all_ok = all_ok and outcome["result"] == "ok"
    last = {"followed": followed}
    wanted = request.get("materialize")
    if wanted is not None and all_ok and "materialized" not in prepared:
        last["materialized"] = materialize(root, wanted["id"], wanted)
    emit(last)
    return 0


def finish(root, sha, size, fd, path, digest, token):
    """Verified: into store/ (or dropped when an identical verified file is already there)."""
    fst = os.fstat(fd)
    if digest != sha or fst.st_size != size:
        unlink_if_same(path, fst)
        return {"result": "mismatch", "sha256": digest, "bytes": fst.st_size}
    os.fsync(fd)  # a Jetson is often switched off at the wall: no zero-filled store file after that
    final = os.path.join(root, "store", sha)
    existing = lstat_or_none(final)
    if existing is not None and stat.S_ISREG(existing.st_mode) and existing.st_size == size \
            and read_record(root, sha, existing):
        unlink_if_same(path, fst)  # an identical upload finished first: keep its inode
        return {"result": "ok", "sha256": digest, "kept_existing": True}
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise Refused("{} is a directory, not a file: remove it".format(final))
    os.rename(path, final)  # replaces a file or a planted link itself, never what a link points to
    st = os.lstat(final)
    if (st.st_ino, st.st_dev) != (fst.st_ino, fst.st_dev):
        raise Refused("{} was replaced while it was being stored".format(final))
    write_record(root, sha, st, token)
    return {"result": "ok", "sha256": digest, "kept_existing": False}


# ---- artifacts ------------------------------------------------------------------------------

def read_small(path, limit=1 << 24):
    fd = os.open(path, os.O_RDONLY | NOFOLLOW)
    try:
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    return data


def artifact_intact(root, final, files):
    """Every entry of an existing artifact directory is a link into store/ to an existing file."""
    for rel, sha in files.items():
        path = final
        for part in rel.split("/")[:-1]:
            path = os.path.join(path, part)
            st = lstat_or_none(path)
            if st is None or not stat.S_ISDIR(st.st_mode):
                return False
        link = os.path.join(final, rel)
        target = os.path.join(root, "store", sha)
        st = lstat_or_none(link)
        if st is None or not stat.S_ISLNK(st.st_mode) or os.readlink(link) != target:
            return False
        tst = lstat_or_none(target)
        if tst is None or not stat.S_ISREG(tst.st_mode):
            return False
    return True


def existing_artifact(root, final, manifest, files, removed):
    """"reused", "absent" (nothing usable there) or "different" (another artifact's files)."""
    st = lstat_or_none(final)
    if st is None:
        return "absent"
    if stat.S_ISLNK(st.st_mode):
        removed.append(["artifacts/" + os.path.basename(final), os.readlink(final)])
        os.unlink(final)
        return "absent"
    if not stat.S_ISDIR(st.st_mode):
        raise Refused("{} is not a directory: remove it".format(final))
    try:
        have = read_small(os.path.join(final, MANIFEST_NAME))
    except OSError:
        have = None
    if have is not None and have != manifest:
        return "different"
    if have is not None and artifact_intact(root, final, files):
        return "reused"
    # Damaged (a link replaced, the manifest missing): set it aside and build it again.
    aside = os.path.join(root, "tmp", "artifact-damaged-" + os.urandom(8).hex())
    try:
        os.rename(final, aside)
    except FileNotFoundError:
        return "absent"
    rmtree(aside)
    return "absent"


def materialize(root, artifact_id, request):
    if not ARTIFACT_ID.match(artifact_id) or artifact_id in (".", ".."):
        raise Refused("bad artifact id {!r}".format(artifact_id))
    layout(root)
    manifest = request["manifest"].encode("utf-8")
    files = request["files"]
    removed = []
    final = os.path.join(root, "artifacts", artifact_id)
    state = existing_artifact(root, final, manifest, files, removed)
    if state != "absent":
        return {"path": final, "state": state, "links_removed": removed}
    for rel, sha in sorted(files.items()):
        target = os.path.join(root, "store", sha)
        st = lstat_or_none(target) if SHA.match(sha) else None
        if st is None or not stat.S_ISREG(st.st_mode):
            return {"path": final, "state": "missing", "missing": sha, "links_removed": removed}
    build = os.path.join(root, "tmp", "artifact-{}-{}".format(artifact_id, os.urandom(8).hex()))
    os.mkdir(build, 0o755)  # exclusive: never an existing directory, nor a planted link
    try:
        for rel, sha in sorted(files.items()):
            parts = rel.split("/")
            if rel.startswith("/") or ".." in parts or "" in parts or "." in parts:
                raise Refused("bad artifact path {!r}".format(rel))
            directory = build
            for part in parts[:-1]:
                directory = os.path.join(directory, part)
                try:
                    os.mkdir(directory, 0o755)
                except FileExistsError:
                    if not stat.S_ISDIR(os.lstat(directory).st_mode):
                        raise Refused("artifact path {!r} is both a file and a directory".format(rel))
            os.symlink(os.path.join(root, "store", sha), os.path.join(build, rel))
        fd = os.open(os.path.join(build, MANIFEST_NAME), os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW,
                     0o644)
        try:
            os.write(fd, manifest)
        finally:
            os.close(fd)
        try:
            os.rename(build, final)
            state = "built"
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise
            # Another deploy finished the same artifact first: fine when it is identical.
            state = existing_artifact(root, final, manifest, files, removed)
            if state == "absent":
                os.rename(build, final)
                state = "built"
    finally:
        if os.path.lexists(build):
            rmtree(build)
    return {"path": final, "state": state, "links_removed": removed}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
