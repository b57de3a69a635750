"""The bytes of an engine file, read where its structure points, and how a decoder gives up.

Engines can be gigabytes and their sections lie at offsets the header names, so decoders ask for
``(offset, length)`` rather than holding the file. Two ways to stop are distinguished, because
the advice differs: ``TruncatedEngine`` (a length field the structure vouches for declares more
bytes than the file has: the copy is incomplete) and ``UnrecognisedLayout`` (the bytes are
consistent but arranged in a way the decoder does not know: probably a newer release).
"""

from __future__ import annotations

import struct
from typing import Callable

# A size field above this is not a size but another field read at the wrong offset.
PLAUSIBLE_SIZE_LIMIT = 1 << 40
BLOCK_SIZE = 64 * 1024


class TruncatedEngine(Exception):
    """The structure declares more bytes than the file holds; ``detail`` says which field."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class UnrecognisedLayout(Exception):
    """Consistent bytes in an unknown arrangement; ``read_so_far`` lists what could be read."""

    def __init__(self, family: str, read_so_far: list[str]):
        super().__init__(f"{family}: {'; '.join(read_so_far)}")
        self.family = family
        self.read_so_far = read_so_far


class EngineBytes:
    """Random access to ``size`` bytes through ``read_at(offset, length)``, cached in 64 KiB blocks.

    ``available`` is how many bytes can be read at all: the file size, or fewer when only a
    prefix was given (``from_prefix``), in which case a missing byte is unknown, not absent.
    """

    def __init__(self, read_at: Callable[[int, int], bytes], size: int, available: int | None = None):
        self._read_at = read_at
        self.size = size
        self.available = size if available is None else min(available, size)
        self._blocks: dict[int, bytes] = {}

    @classmethod
    def from_prefix(cls, prefix: bytes, size: int) -> EngineBytes:
        return cls(lambda offset, length: prefix[offset : offset + length], size, available=len(prefix))

    def at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``; shorter where the readable bytes end."""
        if offset < 0 or length <= 0 or offset >= self.available:
            return b""
        end = min(offset + length, self.available)
        pieces = []
        for block in range(offset // BLOCK_SIZE, (end - 1) // BLOCK_SIZE + 1):
            if block not in self._blocks:
                self._blocks[block] = self._read_at(block * BLOCK_SIZE, BLOCK_SIZE)
            pieces.append(self._blocks[block])
        joined = b"".join(pieces)
        start = offset - (offset // BLOCK_SIZE) * BLOCK_SIZE
        return joined[start : start + (end - offset)]

    def has(self, offset: int, length: int) -> bool:
        return len(self.at(offset, length)) == length

    def unpack(self, fmt: str, offset: int) -> tuple | None:
        """``struct.unpack`` of little-endian ``fmt`` at ``offset``; None where the bytes end."""
        size = struct.calcsize("<" + fmt)
        data = self.at(offset, size)
        return struct.unpack("<" + fmt, data) if len(data) == size else None

    def u32(self, offset: int) -> int | None:
        values = self.unpack("I", offset)
        return values[0] if values else None

    def u64(self, offset: int) -> int | None:
        values = self.unpack("Q", offset)
        return values[0] if values else None


def plausible_size(value: int | None) -> bool:
    return value is not None and 0 < value < PLAUSIBLE_SIZE_LIMIT


def plausible_version(parts: tuple[int, ...] | bytes) -> bool:
    """Four parts such as 8.6.1.6, 10.9.0.34 or TensorRT-RTX 1.7.1.116."""
    if len(parts) != 4:
        return False
    major, minor, patch, _build = parts
    return 1 <= major <= 30 and minor <= 30 and patch <= 30
