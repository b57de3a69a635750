"""Pack edgetrt/agent into one zipapp file, byte-identical for identical sources.

The bundle is named by its SHA-256, so host and device can never disagree about which agent
version is running: a changed agent is a different file in the device store.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
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


def bundle_bytes(source: Path = AGENT_SOURCE) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        def add(name: str, data: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)

        add("__main__.py", _MAIN.encode())
        for path in _sources(source):
            add(f"{PACKAGE_IN_ZIP}/{path.relative_to(source).as_posix()}", path.read_bytes())
    return buffer.getvalue()


def build_agent_bundle(cache_dir: Path | None = None) -> AgentBundle:
    """Write the bundle to the host cache (once per content) and return where it is."""
    data = bundle_bytes()
    sha = hashlib.sha256(data).hexdigest()
    directory = cache_dir or paths.cache_home() / "agent"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"edgetrt-agent-{sha[:16]}.pyz"
    if not path.is_file() or path.stat().st_size != len(data):
        # a name of its own: concurrent deploys building the same bundle must not share one
        import os
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return AgentBundle(path, sha, len(data))
