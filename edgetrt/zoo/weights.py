"""Which weights a model gets: imagenet (Keras' download/cache), a .h5 file, or explicit random."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgetrt.errors import ModelFileError, UsageError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# HDF5 allows a user block before the superblock: the signature sits at 0, 512, 1024, 2048, ...
_HDF5_OFFSETS = (0, 512, 1024, 2048, 4096, 8192)


@dataclass(frozen=True)
class WeightsChoice:
    """What the user asked for: "auto", "imagenet", "random" or a file."""

    mode: str
    path: Path | None = None

    @classmethod
    def parse(cls, value: str | None) -> "WeightsChoice":
        value = (value or "auto").strip()
        if value in ("auto", "imagenet", "random"):
            return cls(value)
        path = Path(value).expanduser()
        if not path.exists():
            raise UsageError(f"--weights {value!r}: no such file",
                             hint="use imagenet, random, auto, or a path to a Keras .h5 weights file")
        return cls("file", path)


def check_hdf5(path: Path) -> None:
    """Refuse a weights file that is not HDF5 before Keras produces a confusing traceback."""
    try:
        with open(path, "rb") as fh:
            for offset in _HDF5_OFFSETS:
                fh.seek(offset)
                if fh.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
                    return
    except OSError as exc:
        raise ModelFileError(f"cannot read weights file {path}: {exc.strerror}") from exc
    raise ModelFileError(f"weights file {path} is not an HDF5 file",
                         hint="pass a Keras .h5 weights file (e.g. mobilenet_2_5_128_tf.h5)")
