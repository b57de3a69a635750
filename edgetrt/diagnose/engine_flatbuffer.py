"""TensorRT 5/6 plans: no magic, a size word, then a FlatBuffers-style root table.

Read from a real TensorRT 5.0.6.3 engine built on a Jetson TX2 (tests/fixtures/engines A17):

    0x00 u64 plan size (the whole file)   0x08 FlatBuffers buffer: u32 offset of the root table
    root field 1 -> version table: u32 fields major, minor, patch, build (absent = 0)
    root field 2 -> device table: 0 name (string, "NVIDIA Tegra X2"), 1 compute capability major,
                    2 minor, 3 clock rate (kHz), 4 memory clock rate (kHz), 5 memory bus width,
                    6 u64 global memory, 7 u64 L2 cache, 8 multiprocessor count, 10 bool integrated

A table starts with an i32 back-offset to its vtable; the vtable holds u16 sizes and one u16
field offset per field (0: absent). Every read is bounds-checked, and the structure must hold
together (offsets inside the plan, a plausible version) before the size word is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgetrt.diagnose.engine_bytes import EngineBytes, TruncatedEngine, plausible_size

MIN_PLAN_SIZE = 64
ROOT_SEARCH_LIMIT = 4096
MAX_VTABLE_BYTES = 256
MAX_NAME_BYTES = 256
VERSION_FIELD, DEVICE_FIELD = 1, 2


@dataclass(frozen=True)
class FlatbufferPlan:
    tensorrt_version: str
    device_name: str | None
    compute_capability: str | None
    integrated_gpu: bool | None
    multiprocessor_count: int | None
    clock_rate_khz: int | None
    memory_clock_rate_khz: int | None
    memory_bus_width_bits: int | None
    total_memory_bytes: int | None
    trailing_bytes: int


class _Table:
    """A FlatBuffers table at ``position`` whose reads stay below ``end``."""

    def __init__(self, source: EngineBytes, position: int, end: int):
        self.source, self.position, self.end = source, position, end
        back = source.unpack("i", position)
        self.vtable = position - back[0] if back else -1
        header = source.unpack("HH", self.vtable) if 0 <= self.vtable < end else None
        if header is None or not 4 <= header[0] <= MAX_VTABLE_BYTES or header[0] % 2:
            raise ValueError("no vtable")
        self.vtable_size = header[0]

    def _field_at(self, field: int) -> int | None:
        slot = 4 + 2 * field
        if slot + 2 > self.vtable_size:
            return None
        (relative,) = self.source.unpack("H", self.vtable + slot) or (0,)
        return self.position + relative if relative else None

    def scalar(self, field: int, fmt: str, default: int | None = 0) -> int | None:
        at = self._field_at(field)
        if at is None:
            return default
        values = self.source.unpack(fmt, at) if at < self.end else None
        return values[0] if values else None

    def table(self, field: int) -> _Table | None:
        target = self._reference(field)
        return _Table(self.source, target, self.end) if target is not None else None

    def string(self, field: int) -> str | None:
        target = self._reference(field)
        length = self.source.u32(target) if target is not None else None
        if length is None or length > MAX_NAME_BYTES:
            return None
        return self.source.at(target + 4, length).decode("utf-8", "replace")

    def _reference(self, field: int) -> int | None:
        at = self._field_at(field)
        relative = self.source.u32(at) if at is not None else None
        if not relative or at + relative >= self.end:
            return None
        return at + relative


def looks_like_flatbuffer_plan(source: EngineBytes, offset: int) -> bool:
    """A size word and a root table whose version table reads as a TensorRT version."""
    return _version(source, offset) is not None


def decode_flatbuffer_plan(source: EngineBytes, offset: int, extent: int) -> FlatbufferPlan:
    declared = source.u64(offset)
    version = _version(source, offset)
    if version is None:
        raise ValueError("not a flatbuffer plan")
    if declared > extent:
        raise TruncatedEngine(f"the plan's size word declares {declared} bytes, the file has {extent}")
    root = _root(source, offset, declared)
    device = _device(root)
    return FlatbufferPlan(tensorrt_version=version, trailing_bytes=extent - declared, **device)


def _root(source: EngineBytes, offset: int, declared: int) -> _Table:
    buffer = offset + 8
    root_offset = source.u32(buffer)
    if not root_offset or root_offset > ROOT_SEARCH_LIMIT:
        raise ValueError("no root table")
    return _Table(source, buffer + root_offset, offset + declared)


def _version(source: EngineBytes, offset: int) -> str | None:
    declared = source.u64(offset)
    if not plausible_size(declared) or declared < MIN_PLAN_SIZE:
        return None
    try:
        version_table = _root(source, offset, declared).table(VERSION_FIELD)
        if version_table is None:
            return None
        parts = [version_table.scalar(field, "I") for field in range(4)]
    except ValueError:
        return None
    if None in parts or not 1 <= parts[0] <= 9 or any(part > 100 for part in parts[1:]):
        return None
    return ".".join(map(str, parts))


def _device(root: _Table) -> dict:
    empty = dict.fromkeys(
        ("device_name", "compute_capability", "integrated_gpu", "multiprocessor_count", "clock_rate_khz",
         "memory_clock_rate_khz", "memory_bus_width_bits", "total_memory_bytes"))
    try:
        device = root.table(DEVICE_FIELD)
    except ValueError:
        return empty
    if device is None:
        return empty
    major, minor = device.scalar(1, "i"), device.scalar(2, "i")
    capability = f"{major}.{minor}" if major and 1 <= major <= 20 and minor is not None and 0 <= minor <= 9 else None
    integrated = device.scalar(10, "B", default=None)
    return {
        "device_name": device.string(0),
        "compute_capability": capability,
        "integrated_gpu": None if integrated is None else bool(integrated),
        "multiprocessor_count": device.scalar(8, "i", default=None),
        "clock_rate_khz": device.scalar(3, "i", default=None),
        "memory_clock_rate_khz": device.scalar(4, "i", default=None),
        "memory_bus_width_bits": device.scalar(5, "i", default=None),
        "total_memory_bytes": device.scalar(6, "Q", default=None),
    }
