"""Content hashes of host files: artifacts, weights and caches are all named by them."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(root: Path, pattern: str = "**/*") -> str:
    """A directory by content: every matching file's relative path and SHA-256."""
    digest = hashlib.sha256()
    for file in sorted(p for p in Path(root).glob(pattern) if p.is_file()):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0" + sha256_file(file).encode())
    return digest.hexdigest()
