"""A content-addressed file store on the device, over any :class:`Transport`.

Layout under ``root`` (default ``<home>/.edgetrt``)::

    store/<sha256>                  immutable, verified file contents
    verified/<sha256>               the store file's size, mtime, ctime and inode when verified
    tmp/<sha256>.<token>.part       uploads in progress (unique per upload, resumable, flock'd)
    tmp/artifact-<id>-<rand>        an artifact directory being built
    artifacts/<id>/                 symlinks into store/, plus .edgetrt-artifact.json
    locks/                          the agent's measurement lock (edgetrt/agent/device_lock.py)

The invariants everything relies on: a file appears at ``store/<sha256>`` only by an atomic
rename after its size and SHA-256 were checked *on the device*; it is used again only while its
stat matches the record written then (otherwise it is hashed again, and replaced if it fails); and
no operation inside the root follows a symbolic link (store_ops.py). So an unchanged redeploy is
one remote command, nothing on the device reads a half-written file, and a planted link is
removed, never written through.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

from edgetrt.device.transport import CommandResult, ProgressCallback, RemoteProcess, Transport
from edgetrt.errors import TransportError, UsageError

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MANIFEST_NAME = ".edgetrt-artifact.json"
#: a device path longer than this is no path (PATH_MAX on Linux is 4096)
MAX_ROOT = 1024

#: the device side of every store operation (edgetrt/agent/store_ops.py), sent with each call; the
#: agent carries the same file, and runs it in its own process in `agent session`
OPS_SOURCE = (Path(__file__).resolve().parents[1] / "agent" / "store_ops.py").read_text(encoding="utf-8")
#: a follower that receives no byte for this long gives up (keeping the part for the next
#: upload to resume); a host whose bytes the device takes nowhere for longer calls it lost
FOLLOW_STALL_SECONDS = 20.0
#: how long the device may take to start python3 and take the part file
READY_TIMEOUT = 60.0
#: how long prepare may take: it hashes every store file whose stat changed (all with --verify)
PREPARE_TIMEOUT = 3600.0
#: room left free on the device beyond an upload: the agent, its results and engine builds need it
FREE_MARGIN = 16 * 1024 * 1024


@dataclass(frozen=True)
class LocalFile:
    """A host file to place in the store, with its expected content hash and size."""

    path: Path
    sha256: str
    size: int

    def __post_init__(self):
        _check_sha(self.sha256)
        if self.size < 0:
            raise UsageError(f"{self.path}: negative size {self.size}")

    @classmethod
    def from_path(cls, path: Path | str) -> "LocalFile":
        """Hash a host file (reads it once)."""
        path = Path(path)
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
        return cls(path, digest.hexdigest(), size)


@dataclass(frozen=True)
class TransferStats:
    bytes_sent: int
    files_sent: int
    files_skipped: int
    seconds: float
    #: store files that failed their check and were sent again: {sha256, name, reason}
    repaired: tuple = ()
    #: symbolic links found where edgetrt keeps only its own files, removed: {path, target}
    links_removed: tuple = ()
    #: store files whose recorded stat differed (or --verify) and were hashed on the device
    rehashed: int = 0

    def to_dict(self) -> dict:
        return {"bytes_sent": self.bytes_sent, "files_sent": self.files_sent,
                "files_skipped": self.files_skipped, "seconds": self.seconds,
                "repaired": [dict(r) for r in self.repaired],
                "links_removed": [dict(r) for r in self.links_removed],
                "rehashed": self.rehashed}


def _token() -> str:
    """A part file's unique name part (secrets imported only when a file is sent: ~4 ms)."""
    import secrets

    return secrets.token_hex(16)


def _check_sha(sha: str) -> str:
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise UsageError(f"not a lowercase hex SHA-256: {sha!r}")
    return sha


def _check_id(artifact_id: str) -> str:
    if not isinstance(artifact_id, str) or not _SAFE_ID.fullmatch(artifact_id) \
            or artifact_id in (".", ".."):
        raise UsageError(f"unsafe artifact id {artifact_id!r}",
                         hint="use letters, digits, '.', '_' and '-' (at most 128, not starting with '.')")
    return artifact_id


def check_relative_path(rel: str) -> str:
    """Normalise an artifact-relative path; reject anything that could leave the artifact."""
    if not isinstance(rel, str) or not rel:
        raise UsageError(f"empty or non-text artifact path {rel!r}")
    if any(ord(c) < 32 or c == "\x7f" for c in rel):
        raise UsageError(f"artifact path {rel!r} contains a NUL or control character")
    if rel.startswith("/"):
        raise UsageError(f"artifact path {rel!r} is absolute", hint="give paths relative to the artifact")
    if ".." in rel.split("/"):
        raise UsageError(f"artifact path {rel!r} contains '..'", hint="paths must stay inside the artifact")
    norm = posixpath.normpath(rel)
    if norm in (".", "") or norm == MANIFEST_NAME:
        raise UsageError(f"artifact path {rel!r} is not a file name inside the artifact")
    return norm


def check_remote_root(root: str, what: str = "--remote-root") -> str:
    """Refuse a device root that is relative, climbs with '..', or holds control characters.

    ``~`` and ``~/...`` (the login user's home on the device) and absolute paths are accepted.
    Checked before anything is converted, connected or written, so a typo such as
    ``/tmp/x/../../etc`` never becomes a store under /etc.
    """
    if not isinstance(root, str) or not root.strip():
        raise UsageError(f"{what} is empty", hint="give an absolute device path, or ~/NAME")
    if len(root) > MAX_ROOT:
        raise UsageError(f"{what} is {len(root)} characters long (at most {MAX_ROOT}): {root[:40]!r}...")
    if any(ord(c) < 32 or c == "\x7f" for c in root):
        raise UsageError(f"{what} {root!r} contains a newline or another control character",
                         hint="give an absolute device path without control characters")
    if not (root.startswith("/") or root == "~" or root.startswith("~/")):
        raise UsageError(f"{what} {root!r} is not an absolute path",
                         hint="give an absolute device path (/home/USER/.edgetrt) or one under ~/")
    if ".." in root.split("/"):
        raise UsageError(f"{what} {root!r} contains a '..' component",
                         hint="give the device directory itself, without '..'")
    if posixpath.normpath(root) in ("/", "//"):
        raise UsageError(f"{what} must not be '/'", hint="give a directory of its own, e.g. ~/.edgetrt")
    return root


class DeviceStore:
    """Content-addressed files and artifacts under ``root`` on one device.

    Every file operation on the device goes through store_ops.py (``python3`` there): it opens
    nothing through a symbolic link, creates part files exclusively under unique names and an
    flock, and renames only what it verified. The bytes themselves travel on that helper's
    standard input (:meth:`RemoteProcess.send_file`: the SSH channel of its command), and it
    writes and hashes them as they arrive: no SFTP server, and nothing read back.
    """

    def __init__(self, transport: Transport, root: str | None = None, *, python: str = "python3"):
        self.transport = transport
        root = root if root is not None else posixpath.join(transport.home(), ".edgetrt")
        if not isinstance(root, str) or not root.startswith("/") \
                or any(ord(c) < 32 for c in root) or len(root) > MAX_ROOT:
            raise UsageError(f"device store root must be an absolute path without control characters: {root!r}")
        root = posixpath.normpath(root)
        if root.startswith("//"):
            root = "/" + root.lstrip("/")
        if root == "/":
            raise UsageError("device store root must not be '/'")
        self.root = root
        self.python = python
        #: links materialize() found in place of an artifact directory and removed
        self.links_removed: tuple = ()

    # ---- paths ---------------------------------------------------------------------------
    def _inside(self, *parts: str) -> str:
        path = posixpath.normpath(posixpath.join(self.root, *parts))
        if "\x00" in path or not path.startswith(self.root + "/"):
            raise TransportError(f"refusing device path {path!r}: outside the store root {self.root}")
        return path

    def store_path(self, sha256: str) -> str:
        return self._inside("store", _check_sha(sha256))

    def part_path(self, sha256: str, token: str | None = None) -> str:
        """``tmp/<sha>.<token>.part``; without a token the name edgetrt before 0.2 used (still resumed)."""
        name = _check_sha(sha256) + (f".{token}" if token else "") + ".part"
        return self._inside("tmp", name)

    def artifact_path(self, artifact_id: str) -> str:
        return self._inside("artifacts", _check_id(artifact_id))

    # ---- the device side -------------------------------------------------------------------
    def _ops_argv(self, op: str, *args: str) -> list[str]:
        # -E -S: no PYTHON* variables, no site packages: the helper needs the standard library only
        return [self.python, "-E", "-S", "-c", OPS_SOURCE, op, *args]

    def _ops(self, op: str, *args: str, stdin: dict | None = None, timeout: float | None = None) -> dict:
        data = json.dumps(stdin).encode() if stdin is not None else None
        result = self.transport.run(self._ops_argv(op, *args), stdin=data, timeout=timeout)
        return self._answer(op, result)

    def _answer(self, op: str, result: CommandResult) -> dict:
        lines = result.stdout.decode("utf-8", "replace").strip().splitlines()
        if result.ok and lines:
            try:
                doc = json.loads(lines[-1])
            except ValueError:
                doc = None
            if isinstance(doc, dict):
                return doc
        if result.exit_code == 4:  # a refusal: store_ops wrote one line for the user
            raise TransportError(f"{self.transport.name}: {result.stderr_tail(1)}",
                                 hint=f"the edgetrt root on the device is {self.root}")
        tail = result.stderr_tail(1) or f"exit {result.exit_code}"
        raise TransportError(f"the store on {self.transport.name} failed ({op}): {tail}",
                             hint=f"the device needs {self.python} (Python >= 3.6) on its PATH")

    # ---- files -----------------------------------------------------------------------------
    def ensure_files(self, files: Iterable[LocalFile], progress: ProgressCallback | None = None,
                     *, recheck: bool = False) -> TransferStats:
        """Make every file present and verified in ``store/``; upload only what is missing.

        One remote command, whatever is missing: the store's helper checks each store file's size,
        mtime, ctime and inode against what was recorded when it was verified (a file whose stat
        differs is hashed on the device, and one that fails is removed and sent again: reported in
        ``repaired``), then takes each missing file as it arrives over SFTP, hashing it while it
        comes (``prepare --follow``). ``recheck`` (``deploy --verify``) hashes every store file.
        """
        return self._prepare_and_send(self._unique(files), progress, recheck)[0]

    def ensure_files_then_run(self, files: Iterable[LocalFile], argv: Sequence[str], *, recheck: bool = False,
                              timeout: float | None = None, max_stdout: int | None = None,
                              progress: ProgressCallback | None = None) -> tuple[TransferStats, CommandResult | None]:
        """:meth:`ensure_files`, then ``argv`` on the device, in one remote command when every file
        is already verified there (the store's helper checks them, prints its answer, and becomes
        ``argv``): the result of ``argv``. Otherwise the missing files are uploaded and None is
        returned for ``argv``, which the caller runs itself once its files are there."""
        started = time.monotonic()
        todo = self._unique(files)
        result = self.transport.run(self._ops_argv("prepare", self.root, "1" if recheck else "0", "--then", *argv),
                                    stdin=json.dumps(self._prepare_request(todo)).encode(), timeout=timeout,
                                    max_stdout=max_stdout)
        first, _, rest = result.stdout.partition(b"\n")
        doc = self._answer("prepare", replace(result, stdout=first, exit_code=0)) if first.strip() else None
        if doc is None:
            self._answer("prepare", result)  # raises with the device's own words
        stats = self._complete(todo, doc, progress, started)
        if stats.files_sent:
            return stats, None  # the helper did not start argv: a file was missing
        return stats, replace(result, stdout=rest)

    def ensure_artifact_then_run(self, files: Iterable[LocalFile], artifact_id: str,
                                 entries: Sequence[tuple[str, str]], argv: Sequence[str], *, stdin: bytes = b"",
                                 recheck: bool = False, timeout: float | None = None,
                                 max_stdout: int | None = None, hold_stdin: bool = False,
                                 progress: ProgressCallback | None = None
                                 ) -> tuple[TransferStats, str, CommandResult | None]:
        """:meth:`ensure_artifact`, then ``argv`` on the device (``stdin`` its input), in one remote
        command when every file is already verified there: the helper checks them, assembles the
        artifact, prints its answer and becomes ``argv``. (stats, the artifact's device path, the
        result of ``argv``). When a file is missing, :meth:`ensure_artifact` sends it (one more
        command: the check is made again, each missing file hashed as it arrives) and None is
        returned for ``argv``, which the caller runs itself. When ``argv`` ran, the stats' seconds
        are the check's on the device, as the helper timed it (the rest is ``argv``'s)."""
        started = time.monotonic()
        todo = self._unique(files)
        final, request = self._materialize_request(artifact_id, entries)
        prepare = dict(self._prepare_request(todo), materialize=dict(request, id=artifact_id))
        result = self.transport.run(self._ops_argv("prepare", self.root, "1" if recheck else "0", "--then", *argv),
                                    stdin=json.dumps(prepare).encode() + b"\n" + stdin, timeout=timeout,
                                    max_stdout=max_stdout, hold_stdin=hold_stdin)
        first, _, rest = result.stdout.partition(b"\n")
        doc = self._answer("prepare", replace(result, stdout=first, exit_code=0)) if first.strip() else None
        if doc is None:
            self._answer("prepare", result)  # raises with the device's own words
        missing, checked = self._checked(todo, doc)
        if missing or "materialized" not in doc:
            # the check just made hashed what ``recheck`` asks (and recorded it): not hashed again
            stats, remote_dir = self.ensure_artifact(todo, artifact_id, entries, progress)
            return replace(_after_check(checked, stats), seconds=time.monotonic() - started), remote_dir, None
        remote_dir = self._materialized(artifact_id, final, doc["materialized"])
        return replace(checked, seconds=float(doc.get("seconds") or 0.0)), remote_dir, replace(result, stdout=rest)

    def start_checked(self, files: Iterable[LocalFile], argv: Sequence[str], *, recheck: bool = False,
                      progress: ProgressCallback | None = None) -> tuple[TransferStats, RemoteProcess]:
        """:meth:`ensure_files`, then ``argv`` started on the device with its stdin held (the
        agent's session): one remote command when every file is verified there (the helper checks
        them, prints its answer and becomes ``argv``). A missing file is sent first, and the
        helper started again. (stats, the process, past the helper's line)."""
        started = time.monotonic()
        todo = self._unique(files)
        request = json.dumps(self._prepare_request(todo)).encode() + b"\n"
        argv = self._ops_argv("prepare", self.root, "1" if recheck else "0", "--then", *argv)
        sent = None
        while True:
            proc = self.transport.start(argv, stdin=request, hold_stdin=True)
            try:
                missing, checked = self._checked(todo, self._line_doc(proc, "prepare", PREPARE_TIMEOUT))
            except BaseException:
                proc.close()
                raise
            if not missing:
                stats = checked if sent is None else sent
                return replace(stats, seconds=time.monotonic() - started), proc
            proc.close()
            if sent is not None:
                raise TransportError(f"the store on {self.transport.name} lost {Path(missing[0][0].path).name} "
                                     "right after it was sent")
            # the check just made hashed what ``recheck`` asks (and recorded it): not hashed again
            sent = _after_check(checked, self.ensure_files(todo, progress))

    def continue_artifact_then_run(self, session: RemoteProcess, files: Iterable[LocalFile], artifact_id: str,
                                   entries: Sequence[tuple[str, str]], job: bytes, *, timeout: float | None = None,
                                   max_stdout: int | None = None, progress: ProgressCallback | None = None
                                   ) -> tuple[TransferStats, str, CommandResult | None]:
        """:meth:`ensure_artifact_then_run`, asked of an agent ``session`` (start_checked) that
        already answered its probe: the artifact's check and assembly, then ``job``, as its next
        two lines, in the process that probed. When a file is missing the session ends, and
        :meth:`ensure_artifact` sends it: the result is None then, and the caller runs the job."""
        started = time.monotonic()
        todo = self._unique(files)
        final, request = self._materialize_request(artifact_id, entries)
        prepare = dict(self._prepare_request(todo), materialize=dict(request, id=artifact_id))
        try:
            session.write(json.dumps(prepare).encode() + b"\n")
            doc = self._line_doc(session, "prepare", PREPARE_TIMEOUT)
            missing, checked = self._checked(todo, doc)
            if missing or "materialized" not in doc:
                session.close()
                stats, remote_dir = self.ensure_artifact(todo, artifact_id, entries, progress)
                return replace(_after_check(checked, stats), seconds=time.monotonic() - started), remote_dir, None
            remote_dir = self._materialized(artifact_id, final, doc["materialized"])
            session.write(job)
            result = session.wait(timeout=timeout, max_stdout=max_stdout)
        finally:
            session.close()
        return (replace(checked, seconds=float(doc.get("seconds") or 0.0)), remote_dir,
                replace(result, stdout=session.unread(result)))

    def ensure_artifact(self, files: Iterable[LocalFile], artifact_id: str, entries: Sequence[tuple[str, str]],
                        progress: ProgressCallback | None = None, *, recheck: bool = False) -> tuple[TransferStats, str]:
        """:meth:`ensure_files`, then :meth:`materialize`, by the same helper process: one remote
        command when every file arrives (or is there) verified."""
        final, request = self._materialize_request(artifact_id, entries)
        stats, built = self._prepare_and_send(self._unique(files), progress, recheck,
                                              materialize=dict(request, id=artifact_id))
        if built is not None:
            return stats, self._materialized(artifact_id, final, built)
        return stats, self.materialize(artifact_id, entries)

    @staticmethod
    def _unique(files: Iterable[LocalFile]) -> list[LocalFile]:
        unique: dict[str, LocalFile] = {}
        for f in files:
            unique.setdefault(f.sha256, f)
        return list(unique.values())

    @staticmethod
    def _prepare_request(todo: list[LocalFile]) -> dict:
        return {"files": [[f.sha256, f.size] for f in todo]}

    def _prepare_and_send(self, todo: list[LocalFile], progress, recheck: bool,
                          materialize: dict | None = None) -> tuple[TransferStats, dict | None]:
        """``prepare --follow``: the check, then each missing file sent to the same helper, which
        hashes it as it arrives; (stats, the helper's materialize answer or None)."""
        started = time.monotonic()
        # unique per upload: concurrent deploys never share a part file
        request = dict(self._prepare_request(todo), tokens={f.sha256: _token() for f in todo},
                       reserve=FREE_MARGIN)
        if materialize is not None:
            request["materialize"] = materialize
        # the request is one line; the missing files' bytes follow it on the helper's stdin
        helper = self.transport.start(self._ops_argv("prepare", self.root, "1" if recheck else "0", "--follow",
                                                     str(FOLLOW_STALL_SECONDS)),
                                      stdin=json.dumps(request).encode() + b"\n", hold_stdin=True)
        try:
            doc = self._line_doc(helper, "prepare", PREPARE_TIMEOUT)
            stats = self._complete(todo, doc, progress, started, helper=helper, tokens=request["tokens"])
            last = self._line_doc(helper, "prepare", 60) if stats.files_sent else {}
        finally:
            helper.close()
        built = doc.get("materialized") or last.get("materialized")
        return stats, built

    def _line_doc(self, helper, op: str, timeout: float) -> dict:
        """The helper's next line as a JSON object; its own error line (exit 4) when it stopped."""
        line = helper.readline(timeout=timeout)
        try:
            doc = json.loads(line) if line.strip() else None
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            return doc
        self._answer(op, helper.wait(timeout=10))  # raises with the device's own words
        raise TransportError(f"the store on {self.transport.name} answered {line[:200]!r} ({op})")

    def _complete(self, todo: list[LocalFile], doc: dict, progress, started: float, *, helper=None,
                  tokens: dict | None = None) -> TransferStats:
        """Read prepare's answer for ``todo``; upload what it found missing (to ``helper``, which
        follows the missing files in ``todo``'s order, when given)."""
        missing, checked = self._checked(todo, doc)
        needed = sum(f.size - (part[1] if part else 0) for f, part in missing)
        self._check_free_space(needed, doc.get("free"))

        sent = 0
        for f, part in missing:
            taken = (helper, tokens[f.sha256]) if helper is not None else None
            sent += self._upload(f, part[0] if part else None, progress, taken=taken)
        return replace(checked, bytes_sent=sent, seconds=time.monotonic() - started)

    def _checked(self, todo: list[LocalFile], doc: dict) -> tuple[list, TransferStats]:
        """What prepare's answer says of ``todo``: ([(missing file, its part to resume or None)],
        the stats of the check: nothing sent yet, what was skipped, repaired, unlinked, rehashed)."""
        states = doc.get("files") or {}
        links = tuple({"path": f"{self.root}/{p}", "target": t} for p, t in doc.get("links_removed", []))
        missing, repaired, rehashed = [], [], 0
        for f in todo:
            state = states.get(f.sha256) or {}
            rehashed += bool(state.get("rehashed"))
            if state.get("repaired"):
                repaired.append({"sha256": f.sha256, "name": Path(f.path).name, "reason": state["repaired"]})
            if state.get("state") != "ok":
                missing.append((f, state.get("part")))
        return missing, TransferStats(0, len(missing), len(todo) - len(missing), 0.0, tuple(repaired), links, rehashed)

    def free_bytes(self) -> int | None:
        """Bytes available to the login user on the store's filesystem (None when df cannot tell)."""
        result = self.transport.run(["df", "-Pk", self.root])
        lines = result.stdout.decode("utf-8", "replace").strip().splitlines()
        if not result.ok or len(lines) < 2:
            return None
        fields = lines[-1].split()
        try:
            return int(fields[3]) * 1024
        except (IndexError, ValueError):
            return None

    def _check_free_space(self, needed: int, free: int | None) -> None:
        # A full disk found half-way through an upload leaves the user with an SFTP "Failure";
        # checking first names the problem and the numbers.
        if needed <= 0 or not isinstance(free, int):
            return
        if free < needed + FREE_MARGIN:
            raise TransportError(
                f"not enough space on {self.transport.name} under {self.root}: the upload needs "
                f"{needed / 1e6:.1f} MB, {free / 1e6:.1f} MB are free",
                hint="free space on the device, or pass --remote-root on a larger filesystem")

    def _upload(self, f: LocalFile, candidate: str | None, progress: ProgressCallback | None,
                taken: tuple | None = None) -> int:
        """Send ``f`` to a follower, on its stdin: it writes the bytes into a part file it holds
        and hashes them as they come.

        ``taken``: (the ``prepare --follow`` helper, the token it was given) for the first
        attempt; otherwise, and for a second attempt, a ``follow`` process of its own."""
        local_size = Path(f.path).stat().st_size
        if local_size != f.size:
            raise UsageError(f"{f.path} is {local_size} bytes, expected {f.size}",
                             hint="the file changed after it was hashed; rebuild the artifact")
        sent = 0
        for attempt in (1, 2):
            own = taken is None or attempt == 2
            if own:
                token = _token()  # unique per upload: concurrent deploys never share a part
                follower = self.transport.start(self._ops_argv(
                    "follow", self.root, f.sha256, str(f.size), token, candidate or "-",
                    str(FOLLOW_STALL_SECONDS)), hold_stdin=True)
            else:
                follower, token = taken
            try:
                offset = self._ready(follower, f)
                if offset < f.size:
                    try:
                        sent += follower.send_file(Path(f.path), offset, f.size - offset, progress,
                                                   stall=FOLLOW_STALL_SECONDS + 10)
                    except TransportError as exc:
                        raise self._send_failed(follower, f, exc) from exc
                if own:
                    outcome = self._answer("follow", follower.wait(timeout=60))
                else:
                    outcome = self._line_doc(follower, "follow", 60)
            finally:
                if own:
                    follower.close()
            if outcome.get("result") == "ok":
                return sent
            candidate = None  # the follower removed the bad part: send the whole file again
            if attempt == 2:
                raise TransportError(
                    f"{f.path} arrived on {self.transport.name} with SHA-256 "
                    f"{outcome.get('sha256') or 'unknown'}, expected {f.sha256}",
                    hint="the local file may have changed while uploading, or the device storage is failing")
        raise AssertionError("unreachable")

    def _send_failed(self, follower, f: LocalFile, exc: TransportError) -> TransportError:
        """Why sending ``f`` stopped: the follower's own refusal (a full disk, say) when it
        stopped with one; otherwise the connection was lost."""
        try:
            result = follower.wait(timeout=2)
        except TransportError:
            result = None
        if result is not None and result.exit_code == 4:
            return TransportError(f"upload of {Path(f.path).name} ({f.size} bytes) to {self.transport.name} "
                                  f"failed: {result.stderr_tail(1)}",
                                  hint=f"the edgetrt root on the device is {self.root}")
        return _upload_failed(f, self.transport.name, exc)

    def _ready(self, follower, f: LocalFile) -> int:
        line = follower.readline(timeout=READY_TIMEOUT).decode("ascii", "replace").split()
        if len(line) == 2 and line[0] == "ready" and line[1].isdigit() and int(line[1]) <= f.size:
            return int(line[1])
        self._answer("follow", follower.wait(timeout=10))  # raises with the device's own line
        raise TransportError(f"the store on {self.transport.name} did not start an upload of "
                             f"{Path(f.path).name}: {' '.join(line) or 'no answer'}")

    # ---- artifacts -------------------------------------------------------------------------
    def materialize(self, artifact_id: str, entries: Sequence[tuple[str, str]]) -> str:
        """Build ``artifacts/<artifact_id>/`` as symlinks into the store; return its device path.

        The directory is assembled under ``tmp/`` and renamed into place, so it either exists
        complete or not at all. An existing artifact with the same entries is reused (rebuilt if
        one of its links was damaged); a planted link in its place is removed.
        """
        final, request = self._materialize_request(artifact_id, entries)
        return self._materialized(artifact_id, final, self._ops("materialize", self.root, artifact_id, stdin=request))

    def _materialize_request(self, artifact_id: str, entries: Sequence[tuple[str, str]]) -> tuple[str, dict]:
        """(the artifact's device path, what the helper is sent), every path and hash checked here."""
        final = self.artifact_path(artifact_id)
        links: dict[str, str] = {}
        for rel, sha in entries:
            norm = check_relative_path(rel)
            _check_sha(sha)
            if norm in links and links[norm] != sha:
                raise UsageError(f"artifact path {rel!r} given twice with different contents")
            links[norm] = sha
        names = set(links)
        for name in names:
            parent = posixpath.dirname(name)
            while parent:
                if parent in names:
                    raise UsageError(f"artifact path {parent!r} is both a file and a directory")
                parent = posixpath.dirname(parent)
        manifest = json.dumps({"id": artifact_id, "files": dict(sorted(links.items()))},
                              indent=1, sort_keys=True)
        return final, {"manifest": manifest, "files": dict(sorted(links.items()))}

    def _materialized(self, artifact_id: str, final: str, doc: dict) -> str:
        """The helper's answer to a materialize, checked; the artifact's device path."""
        self.links_removed = tuple({"path": f"{self.root}/{p}", "target": t}
                                   for p, t in doc.get("links_removed", []))
        state = doc.get("state")
        if state == "missing":
            raise TransportError(f"cannot build artifact {artifact_id}: a file is not in the device "
                                 f"store ({doc.get('missing')})", hint="call ensure_files() before materialize()")
        if state == "different":
            raise TransportError(f"artifact {artifact_id} already exists on {self.transport.name} "
                                 f"with different files",
                                 hint="artifact ids must name their contents; remove the old artifact")
        if state not in ("built", "reused") or doc.get("path") != final:
            raise TransportError(f"cannot build artifact {artifact_id} on {self.transport.name}: "
                                 f"unexpected answer {state!r}")
        return final


def _after_check(checked: TransferStats, stats: TransferStats) -> TransferStats:
    """``stats`` of the upload that followed a check, with what that check repaired, unlinked and
    hashed (the upload's own check found those already done)."""
    return replace(stats, repaired=checked.repaired + stats.repaired,
                   links_removed=checked.links_removed + stats.links_removed,
                   rehashed=checked.rehashed + stats.rehashed)


def _upload_failed(f: LocalFile, device: str, exc: TransportError) -> TransportError:
    """Name the file being sent (not the device's part path) and say that a rerun resumes."""
    cause = exc.__cause__
    detail = (str(cause) or type(cause).__name__) if cause is not None else exc.message
    if isinstance(cause, EOFError) or detail.startswith(("Socket is closed", "Server connection dropped")):
        detail = f"the connection was lost ({detail.rstrip(': ')})"
    return TransportError(f"upload of {Path(f.path).name} ({f.size} bytes) to {device} failed: {detail}",
                          hint="once the device is reachable, run the same command again: the upload "
                               "resumes from the bytes that arrived, and only verified files are used")
