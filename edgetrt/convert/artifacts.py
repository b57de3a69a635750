"""Artifact directories: written under a temporary name, hashed into manifest.json, then renamed.

A directory either exists complete with its manifest or not at all: a failed conversion leaves
nothing behind that a later deploy could pick up.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgetrt.errors import ModelFileError
from edgetrt.hashing import sha256_file

MANIFEST = "manifest.json"
SCHEMA = "edgetrt.artifact/1"


def list_files(root: Path) -> list[dict]:
    """Every regular file under root (but the manifest), with sha256 and size, sorted by path."""
    entries = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel != MANIFEST:
            entries.append({"path": rel, "sha256": sha256_file(path), "bytes": path.stat().st_size})
    return entries


@dataclass(frozen=True)
class Artifact:
    """A finished artifact directory and its manifest."""

    path: Path
    manifest: dict

    @property
    def files(self) -> list[dict]:
        return self.manifest["files"]

    def has_format(self, fmt: str) -> bool:
        return fmt in self.manifest.get("formats", {})

    @classmethod
    def open(cls, path: Path, verify: bool = False) -> "Artifact":
        path = Path(path)
        try:
            manifest = json.loads((path / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"{path} is not an edgetrt artifact directory (no readable {MANIFEST})") from exc
        if manifest.get("schema") != SCHEMA:
            raise ModelFileError(f"{path / MANIFEST}: unknown schema {manifest.get('schema')!r}")
        artifact = cls(path, manifest)
        if verify:
            artifact.verify()
        return artifact

    def verify(self) -> None:
        """Every listed file exists with its recorded size and sha256."""
        for entry in self.files:
            file = self.path / entry["path"]
            if not file.is_file() or file.stat().st_size != entry["bytes"] or sha256_file(file) != entry["sha256"]:
                raise ModelFileError(f"artifact file {file} is missing or changed since conversion",
                                     hint="convert again (edgetrt convert ... --force)")


class ArtifactWriter:
    """Context manager: yields a temporary directory; on success writes the manifest and renames."""

    def __init__(self, final: Path):
        self.final = Path(final)
        self.tmp: Path | None = None

    def __enter__(self) -> "ArtifactWriter":
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.partial-", dir=self.final.parent))
        return self

    @property
    def dir(self) -> Path:
        assert self.tmp is not None
        return self.tmp

    def finish(self, manifest: dict) -> Artifact:
        manifest = dict(manifest)
        manifest["schema"] = SCHEMA
        manifest["files"] = list_files(self.dir)
        (self.dir / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if self.final.exists():
            shutil.rmtree(self.final)
        os.rename(self.dir, self.final)
        self.tmp = None
        return Artifact(self.final, manifest)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
