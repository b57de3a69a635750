"""Pack edgetrt/agent into one zipapp file, built once per sources and kept under their hash.

The bundle is named by its SHA-256, so host and device can never disagree about which agent
version is running: a changed agent is a different file in the device store.

Beside each module's source the zip holds its bytecode for this host's Python, as a checked
hash-based .pyc (PEP 552): an interpreter of the same version imports it after hashing the source
next to it (a zipapp can write no bytecode cache, so every agent process compiled every module
it imported: ~15-20 ms per process here), any other version finds a foreign magic number and
compiles the source as before. The built zip is kept in the host cache under its sources' hash
and this Python's bytecode version, so the bytecode is compiled once, not once per deploy.
"""

from __future__ import annotations

import hashlib
import io
import threading
from dataclasses import dataclass
from pathlib import Path

from edgetrt.config import paths

AGENT_SOURCE = Path(__file__).resolve().parents[1] / "agent"
PACKAGE_IN_ZIP = "edgetrt_agent"
_MAIN = f"from {PACKAGE_IN_ZIP}.main import main\nmain()\n"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class AgentBundle:
    path: Path
    sha256: str
    size: int


def _sources(root: Path):
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".json") and "__pycache__" not in path.parts:
            yield path


def bundle_bytes(source: Path = AGENT_SOURCE, bytecode: bool = True) -> bytes:
    """The zipapp: __main__.py, the agent's sources and data, and (``bytecode``) each module's
    checked hash-based .pyc for this interpreter."""
    import zipfile  # only when a bundle is built (once per agent sources), not per deploy

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        def add(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)

        add("__main__.py", _MAIN.encode())
        for path in _sources(source):
            name = f"{PACKAGE_IN_ZIP}/{path.relative_to(source).as_posix()}"
            data = path.read_bytes()
            add(name, data)
            if bytecode and path.suffix == ".py":
                add(name[:-3] + ".pyc", checked_hash_pyc(data, name))
    return buffer.getvalue()


def _sources_key(source: Path = AGENT_SOURCE) -> str:
    """What the bundle is made from: the agent's files, this module (how they are packed) and this
    interpreter's bytecode version."""
    import importlib.util

    digest = hashlib.sha256(importlib.util.MAGIC_NUMBER + Path(__file__).read_bytes())
    for path in _sources(source):
        name = path.relative_to(source).as_posix().encode()
        data = path.read_bytes()
        digest.update(b"%d:%s%d:" % (len(name), name, len(data)) + data)
    return digest.hexdigest()


def checked_hash_pyc(source: bytes, filename: str) -> bytes:
    """What py_compile writes with PycInvalidationMode.CHECKED_HASH, made in memory: the magic
    number, flags 0b11 (hash-based, checked), the source's hash, the marshalled code."""
    import importlib.util
    import marshal

    code = compile(source, filename, "exec", dont_inherit=True, optimize=0)
    return importlib.util.MAGIC_NUMBER + (0b11).to_bytes(4, "little") + importlib.util.source_hash(source) \
        + marshal.dumps(code)


def build_agent_bundle(cache_dir: Path | None = None, source: Path = AGENT_SOURCE) -> AgentBundle:
    """The bundle in the host cache (built once per sources and bytecode version), and its hash.

    The hash is always that of the file under the name: marshal's output is not byte-stable
    between two builds (it shares objects by reference count), so of two deploys building at once
    the first to link its file wins and both read that one; a file under the name is replaced only
    when it is damaged."""
    key = _sources_key(source)
    directory = cache_dir or paths.cache_home() / "agent"
    path = directory / f"edgetrt-agent-{key[:16]}.pyz"
    with _BUILDING:
        data = _read(path)
        if not data.startswith(b"PK"):
            import os
            import tempfile

            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(bundle_bytes(source))
                os.chmod(tmp, 0o644)
                try:
                    os.link(tmp, path)  # never over another process's finished bundle
                except FileExistsError:
                    if not _read(path).startswith(b"PK"):
                        os.replace(tmp, path)  # a damaged one
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            data = _read(path)
    return AgentBundle(path, hashlib.sha256(data).hexdigest(), len(data))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


_BUILDING = threading.Lock()  # one build at a time in this process (a fleet's devices start together)
