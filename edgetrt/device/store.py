"""A content-addressed file store on the device, over any :class:`Transport`.

Layout under ``root`` (default ``<home>/.edgetrt``)::

    store/<sha256>            immutable, verified file contents
    tmp/<sha256>.part         uploads in progress (resumable)
    tmp/artifact-<id>-<rand>  an artifact directory being built
    artifacts/<id>/           symlinks into store/, plus .edgetrt-artifact.json

The one invariant everything relies on: a file appears at ``store/<sha256>`` only by an atomic
rename after its size and SHA-256 were checked *on the device*. So presence means verified, an
unchanged redeploy is one remote command, and nothing on the device can read a half-written file.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from edgetrt.device.transport import CommandResult, ProgressCallback, Transport
from edgetrt.errors import TransportError, UsageError

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MANIFEST_NAME = ".edgetrt-artifact.json"

# Create the given directories, then report sizes of many device files (paths on stdin, one
# answer line each): an unchanged redeploy is this one round trip.
_SIZES_SCRIPT = (
    'mkdir -p -- "$@" && '
    'while IFS= read -r p; do '
    'if [ -f "$p" ]; then wc -c < "$p" | tr -d " "; else echo -; fi; '
    'done'
)
# SHA-256 of device files. python3's hashlib goes through OpenSSL, which uses the CPU's SHA
# instructions (x86 SHA-NI, ARMv8 crypto on Jetson); coreutils sha256sum does not and measured
# 3.5x slower here (benchmarks/transfer.py). sha256sum is the fallback when python3 is absent.
_HASH_PY = (
    "import hashlib,sys\n"
    "for p in sys.argv[1:]:\n"
    " h=hashlib.sha256()\n"
    " with open(p,'rb') as f:\n"
    "  for b in iter(lambda:f.read(1<<20),b''): h.update(b)\n"
    " print(h.hexdigest()+'  '+p)\n"
)
_HASH_SCRIPT = (
    'py="$1"; shift; '
    'if command -v python3 >/dev/null 2>&1; then exec python3 -c "$py" "$@"; '
    'else exec sha256sum -b -- "$@"; fi'
)
# Hash a part file *while* it is being uploaded (fresh uploads only): read it as it grows up to
# the expected size, give up after a stall. Overlaps the device's hashing with the network.
_FOLLOW_PY = (
    "import hashlib,sys,time\n"
    "p,n,stall=sys.argv[1],int(sys.argv[2]),float(sys.argv[3])\n"
    "h=hashlib.sha256();done=0;idle=0.0;f=None\n"
    "while done<n or f is None:\n"
    " if f is None:\n"
    "  try: f=open(p,'rb')\n"
    "  except OSError: f=None\n"
    " b=f.read(min(1<<20,n-done)) if f is not None and done<n else b''\n"
    " if b: h.update(b);done+=len(b);idle=0.0;continue\n"
    " if f is not None and done>=n: break\n"
    " time.sleep(0.01);idle+=0.01\n"
    " if idle>stall: sys.exit(3)\n"
    "print(h.hexdigest())\n"
)
FOLLOW_STALL_SECONDS = 20.0

# Build an artifact directory: pairs of lines (store file, link path) on stdin. Exit 3 names a
# store file that is missing; no fork per entry except ln.
_LINKS_SCRIPT = (
    'set -e; mkdir -p -- "$@"; '
    'while IFS= read -r t && IFS= read -r l; do '
    '[ -f "$t" ] || { printf "%s\\n" "$t" >&2; exit 3; }; '
    'd="${l%/*}"; [ -d "$d" ] || mkdir -p -- "$d"; '
    'ln -s -- "$t" "$l"; '
    'done'
)


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

    def to_dict(self) -> dict:
        return {"bytes_sent": self.bytes_sent, "files_sent": self.files_sent,
                "files_skipped": self.files_skipped, "seconds": self.seconds}


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
    """Content-addressed files and artifacts under ``root`` on one device."""

    def __init__(self, transport: Transport, root: str | None = None):
        self.transport = transport
        root = root if root is not None else posixpath.join(transport.home(), ".edgetrt")
        if not isinstance(root, str) or not root.startswith("/") \
                or any(ord(c) < 32 for c in root):
            raise UsageError(f"device store root must be an absolute path without control characters: {root!r}")
        root = posixpath.normpath(root)
        if root.startswith("//"):
            root = "/" + root.lstrip("/")
        if root == "/":
            raise UsageError("device store root must not be '/'")
        self.root = root

    # ---- paths ---------------------------------------------------------------------------
    def _inside(self, *parts: str) -> str:
        path = posixpath.normpath(posixpath.join(self.root, *parts))
        if "\x00" in path or not path.startswith(self.root + "/"):
            raise TransportError(f"refusing device path {path!r}: outside the store root {self.root}")
        return path

    def store_path(self, sha256: str) -> str:
        return self._inside("store", _check_sha(sha256))

    def part_path(self, sha256: str) -> str:
        return self._inside("tmp", _check_sha(sha256) + ".part")

    def artifact_path(self, artifact_id: str) -> str:
        return self._inside("artifacts", _check_id(artifact_id))

    # ---- remote helpers --------------------------------------------------------------------
    def _sizes(self, paths: Sequence[str], mkdirs: Sequence[str] = ()) -> list[int | None]:
        """Sizes of regular files (None when absent), after creating ``mkdirs``: one command."""
        stdin = "".join(p + "\n" for p in paths).encode()
        result = self.transport.run(["sh", "-c", _SIZES_SCRIPT, "sh", *mkdirs], stdin=stdin)
        lines = result.stdout.decode("ascii", "replace").split()
        if not result.ok or len(lines) != len(paths):
            raise TransportError(f"cannot list the store on {self.transport.name}: "
                                 f"{result.stderr_tail(1) or 'unexpected answer'}")
        return [None if line == "-" else int(line) for line in lines]

    def _remote_sha256(self, paths: Sequence[str]) -> list[str | None]:
        """SHA-256 of device files computed on the device (None when unreadable)."""
        if not paths:
            return []
        result = self.transport.run(["sh", "-c", _HASH_SCRIPT, "sh", _HASH_PY, *paths])
        found: dict[str, str] = {}
        for line in result.stdout.decode("utf-8", "replace").splitlines():
            digest, _, name = line.partition(" ")
            name = name.lstrip(" *")
            if _SHA256.fullmatch(digest.lstrip("\\")):
                found[name] = digest.lstrip("\\")
        if not found and not result.ok:
            raise TransportError(f"cannot hash files on {self.transport.name}: "
                                 f"{result.stderr_tail(1) or f'exit {result.exit_code}'}",
                                 hint="the device needs python3 or sha256sum (coreutils)")
        return [found.get(p) for p in paths]

    # ---- files -----------------------------------------------------------------------------
    def ensure_files(self, files: Iterable[LocalFile], progress: ProgressCallback | None = None,
                     *, recheck: bool = False) -> TransferStats:
        """Make every file present and verified in ``store/``; upload only what is missing.

        ``recheck`` re-hashes files already in the store on the device (one command for all)
        and replaces any that no longer match.
        """
        started = time.monotonic()
        unique: dict[str, LocalFile] = {}
        for f in files:
            unique.setdefault(f.sha256, f)
        todo = list(unique.values())
        paths = [self.store_path(f.sha256) for f in todo] + [self.part_path(f.sha256) for f in todo]
        sizes = self._sizes(paths, mkdirs=[self._inside("store"), self._inside("tmp")])
        stored, parts = sizes[:len(todo)], sizes[len(todo):]

        present = [f for f, s in zip(todo, stored) if s == f.size]
        if recheck and present:
            digests = self._remote_sha256([self.store_path(f.sha256) for f in present])
            bad = {f.sha256 for f, d in zip(present, digests) if d != f.sha256}
            for sha in bad:
                self.transport.remove(self.store_path(sha))
            present = [f for f in present if f.sha256 not in bad]
        present_shas = {f.sha256 for f in present}
        needed = sum(f.size - (p if p and p <= f.size else 0)
                     for f, p in zip(todo, parts) if f.sha256 not in present_shas)
        self._check_free_space(needed)

        sent = files_sent = 0
        for f, part_size in zip(todo, parts):
            if f.sha256 in present_shas:
                continue
            sent += self._upload(f, part_size or 0, progress)
            files_sent += 1
        return TransferStats(sent, files_sent, len(todo) - files_sent, time.monotonic() - started)

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

    def _check_free_space(self, needed: int) -> None:
        # A full disk found half-way through an upload leaves the user with an SFTP "Failure";
        # checking first names the problem and the numbers.
        if needed <= 0:
            return
        free = self.free_bytes()
        margin = 16 * 1024 * 1024  # the agent, its results and engine builds need room too
        if free is not None and free < needed + margin:
            raise TransportError(
                f"not enough space on {self.transport.name} under {self.root}: the upload needs "
                f"{needed / 1e6:.1f} MB, {free / 1e6:.1f} MB are free",
                hint="free space on the device, or pass --remote-root on a larger filesystem")

    def _upload(self, f: LocalFile, part_size: int, progress: ProgressCallback | None) -> int:
        part, final = self.part_path(f.sha256), self.store_path(f.sha256)
        local_size = Path(f.path).stat().st_size
        if local_size != f.size:
            raise UsageError(f"{f.path} is {local_size} bytes, expected {f.size}",
                             hint="the file changed after it was hashed; rebuild the artifact")
        sent = 0
        for attempt in (1, 2):
            offset = part_size if 0 < part_size <= f.size else 0
            follower = None
            if offset == 0:
                # A fresh part file (never a stale one) lets the device hash it while it arrives.
                if part_size:
                    self.transport.remove(part)
                follower = _Follower(self.transport, part, f.size)
            try:
                if offset < f.size or f.size == 0:
                    sent += self.transport.write_file(Path(f.path), part, offset=offset, progress=progress)
            except TransportError as exc:
                if follower:
                    follower.abandon()
                raise _upload_failed(f, self.transport.name, exc) from exc
            except BaseException:
                if follower:
                    follower.abandon()
                raise
            digest = follower.result() if follower else None
            if digest != f.sha256:  # no follower, or it could not keep up: hash it now
                digest = self._remote_sha256([part])[0]
            if digest == f.sha256 and self.transport.size(part) == f.size:
                self.transport.rename(part, final)
                return sent
            self.transport.remove(part)
            part_size = 0
            if attempt == 2:
                raise TransportError(
                    f"{f.path} arrived on {self.transport.name} with SHA-256 {digest or 'unknown'}, "
                    f"expected {f.sha256}",
                    hint="the local file may have changed while uploading, or the device storage is failing")
        raise AssertionError("unreachable")

    # ---- artifacts -------------------------------------------------------------------------
    def materialize(self, artifact_id: str, entries: Sequence[tuple[str, str]]) -> str:
        """Build ``artifacts/<artifact_id>/`` as symlinks into the store; return its device path.

        The directory is assembled under ``tmp/`` and renamed into place, so it either exists
        complete or not at all. An existing artifact with the same entries is reused.
        """
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
                              indent=1, sort_keys=True).encode()

        existing = self._read_manifest(final)
        if existing is not None:
            if existing == manifest:
                return final
            raise TransportError(f"artifact {artifact_id} already exists on {self.transport.name} "
                                 f"with different files",
                                 hint="artifact ids must name their contents; remove the old artifact")

        build = self._inside("tmp", f"artifact-{artifact_id}-{secrets.token_hex(4)}")
        lines = []
        for rel, sha in sorted(links.items()):
            lines += [self.store_path(sha), self._inside("tmp", posixpath.basename(build), rel)]
        try:
            result = self.transport.run(["sh", "-c", _LINKS_SCRIPT, "sh", build, self._inside("artifacts")],
                                        stdin="".join(x + "\n" for x in lines).encode())
            if result.exit_code == 3:
                missing = posixpath.basename(result.stderr_tail(1))
                raise TransportError(f"cannot build artifact {artifact_id}: a file is not in the device "
                                     f"store ({missing})", hint="call ensure_files() before materialize()")
            if not result.ok:
                raise TransportError(f"cannot build artifact {artifact_id} on {self.transport.name}: "
                                     f"{result.stderr_tail(1)}")
            self.transport.write_bytes(manifest, posixpath.join(build, MANIFEST_NAME))
            try:
                self.transport.rename(build, final)
            except (OSError, TransportError):
                # Someone else finished the same artifact first: fine if it is identical.
                if self._read_manifest(final) != manifest:
                    raise
                self.transport.run(["rm", "-rf", "--", build])
        except BaseException:
            self.transport.run(["rm", "-rf", "--", build])
            raise
        return final

    def _read_manifest(self, artifact_dir: str) -> bytes | None:
        path = posixpath.join(artifact_dir, MANIFEST_NAME)
        if self.transport.size(path) is None:
            return None
        return self.transport.read_bytes(path)


def _upload_failed(f: LocalFile, device: str, exc: TransportError) -> TransportError:
    """Name the file being sent (not the device's part path) and say that a rerun resumes."""
    cause = exc.__cause__
    detail = (str(cause) or type(cause).__name__) if cause is not None else exc.message
    if isinstance(cause, EOFError) or detail.startswith(("Socket is closed", "Server connection dropped")):
        detail = f"the connection was lost ({detail.rstrip(': ')})"
    return TransportError(f"upload of {Path(f.path).name} ({f.size} bytes) to {device} failed: {detail}",
                          hint="once the device is reachable, run the same command again: the upload "
                               "resumes from the bytes that arrived, and only verified files are used")


class _Follower:
    """The device hashing a part file as it is uploaded, on a second command channel."""

    def __init__(self, transport: Transport, part: str, size: int):
        self._result: list = []
        argv = ["python3", "-S", "-c", _FOLLOW_PY, part, str(size), str(FOLLOW_STALL_SECONDS)]

        def follow():
            try:
                self._result.append(transport.run(argv))
            except Exception as exc:  # reported as "no digest"; the caller hashes again
                self._result.append(exc)

        self._thread = threading.Thread(target=follow, name="edgetrt-device-hash", daemon=True)
        self._thread.start()

    def result(self) -> str | None:
        self._thread.join()
        outcome = self._result[0] if self._result else None
        if isinstance(outcome, CommandResult) and outcome.ok:
            digest = outcome.stdout.decode("ascii", "replace").strip()
            return digest if _SHA256.fullmatch(digest) else None
        return None

    def abandon(self) -> None:
        """The upload failed: the follower stops by itself after its stall timeout."""
