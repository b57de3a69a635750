"""The typed-record stream of a 'ptrt' plan: the TensorRT version and the building GPU's properties.

Every 'ptrt' payload (TensorRT 7.0 to 10.x, TensorRT-RTX) is a stream of records: u16 type,
u16 count (1 for scalars), then the value, little-endian. The low bits of the type give the kind
(0x02 u8, 0x06 u32, 0x07 i32, 0x08 i64, 0x09 u64, 0x0a bool); from 8.2 on the type carries 0x8000.
Kinds without a value open structures. The stream starts with the version as four u8 records
(major, minor, patch, build); after a few structure openings come the building GPU's properties,
in one of two orders (checked against the known hardware of every fixture):

``capability first`` (seen 7.1 to 10.3): i32 compute capability major, minor, clock rate (kHz),
memory clock rate (kHz), memory bus width (bits), ...; the i32 just before the first bool is the
multiprocessor count and that bool says "integrated GPU" (Jetson); the first 64-bit record after
the 2**31-1 (max grid size) record is the global memory size.

``memory first`` (seen 10.9, TensorRT-RTX 1.7): u64 global memory, i64 L2 cache, i64 persisting
L2, then i32 clock rate, memory clock rate, bus width, shared memory per block, shared memory per
multiprocessor, multiprocessor count, integrated (0/1), max threads per block, an unidentified
i32, compute capability major, minor. An ahead-of-time TensorRT-RTX build on a machine without a
GPU writes zeros there (and 8.0 as capability, whatever its targets): no building GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgetrt.diagnose.engine_bytes import EngineBytes

RECORD_VALUE_SIZES = {0x02: 1, 0x06: 4, 0x07: 4, 0x08: 8, 0x09: 8, 0x0A: 1}
KIND_U8, KIND_I32, KIND_BOOL = 0x02, 0x07, 0x0A
SIXTY_FOUR_BIT_KINDS = (0x08, 0x09)
SIGNED_KINDS = (0x07, 0x08)
MAX_RECORDS_SCANNED = 64
MAX_GRID_SIZE_X = 2**31 - 1
# Where the properties start: the first record after the version that begins this many scalars.
PROPERTY_RUN_LENGTH = 8
MEMORY_FIRST_FIELDS = (
    "total_memory_bytes", "l2_cache_bytes", "persisting_l2_bytes", "clock_rate_khz", "memory_clock_rate_khz",
    "memory_bus_width_bits", "shared_memory_per_block", "shared_memory_per_multiprocessor",
    "multiprocessor_count", "integrated", "max_threads_per_block", "unidentified", "major", "minor",
)


@dataclass(frozen=True)
class Record:
    kind: int
    value: int | None
    offset: int


@dataclass(frozen=True)
class DeviceProperties:
    """The building GPU as the plan records it; ``absent`` when the build had no GPU."""

    compute_capability: str | None = None
    integrated_gpu: bool | None = None
    multiprocessor_count: int | None = None
    clock_rate_khz: int | None = None
    memory_clock_rate_khz: int | None = None
    memory_bus_width_bits: int | None = None
    total_memory_bytes: int | None = None
    order: str | None = None
    absent: bool = False


def read_records(source: EngineBytes, position: int) -> list[Record]:
    """The leading typed records, stopping where the stream stops looking like scalars."""
    records: list[Record] = []
    while len(records) < MAX_RECORDS_SCANNED:
        header = source.unpack("HH", position)
        if header is None or header[1] != 1:
            break
        kind = header[0] & 0x7FFF
        value_size = RECORD_VALUE_SIZES.get(kind)
        if value_size is None:
            records.append(Record(kind, None, position))
            position += 4
            continue
        raw = source.at(position + 4, value_size)
        if len(raw) != value_size:
            break
        records.append(Record(kind, int.from_bytes(raw, "little", signed=kind in SIGNED_KINDS), position))
        position += 4 + value_size
    return records


def version_from_records(records: list[Record]) -> str | None:
    """"8.2.1.8" from the four u8 records a plan starts with; None when it does not start so."""
    if len(records) >= 4 and all(record.kind == KIND_U8 for record in records[:4]):
        return ".".join(str(record.value) for record in records[:4])
    return None


def starts_with_version(source: EngineBytes, position: int) -> bool:
    return version_from_records(read_records(source, position)[:4]) is not None


def device_properties(records: list[Record]) -> DeviceProperties | None:
    """The building GPU from the records after the version; None when no known order fits."""
    start = _properties_start(records)
    if start is None:
        return None
    block = records[start:]
    if block[0].kind in SIXTY_FOUR_BIT_KINDS:
        return _memory_first(block)
    return _capability_first(block)


def _properties_start(records: list[Record]) -> int | None:
    for index in range(4, len(records) - PROPERTY_RUN_LENGTH + 1):
        if all(record.value is not None for record in records[index : index + PROPERTY_RUN_LENGTH]):
            return index
    return None


def _capability_first(block: list[Record]) -> DeviceProperties | None:
    if len(block) < 5 or any(record.kind != KIND_I32 for record in block[:5]):
        return None
    major, minor, clock, memory_clock, bus_width = (record.value for record in block[:5])
    if not _plausible_capability(major, minor):
        return None
    integrated = multiprocessors = total_memory = None
    after = block[5:]
    for index, record in enumerate(after):
        if record.kind == KIND_BOOL:
            integrated = bool(record.value)
            if index and after[index - 1].kind == KIND_I32:
                multiprocessors = after[index - 1].value
            break
    grid = next((i for i, r in enumerate(after) if r.kind == KIND_I32 and r.value == MAX_GRID_SIZE_X), None)
    if grid is not None:
        memory = next((r for r in after[grid:] if r.kind in SIXTY_FOUR_BIT_KINDS), None)
        total_memory = memory.value if memory else None
    return DeviceProperties(
        compute_capability=f"{major}.{minor}", integrated_gpu=integrated, multiprocessor_count=multiprocessors,
        clock_rate_khz=clock, memory_clock_rate_khz=memory_clock, memory_bus_width_bits=bus_width,
        total_memory_bytes=total_memory, order="capability first",
    )


def _memory_first(block: list[Record]) -> DeviceProperties | None:
    if len(block) < len(MEMORY_FIRST_FIELDS):
        return None
    kinds_expected = [SIXTY_FOUR_BIT_KINDS] * 3 + [(KIND_I32,)] * (len(MEMORY_FIRST_FIELDS) - 3)
    if any(record.kind not in kinds for record, kinds in zip(block, kinds_expected)):
        return None
    fields = {name: record.value for name, record in zip(MEMORY_FIRST_FIELDS, block)}
    if not (fields["total_memory_bytes"] or fields["multiprocessor_count"] or fields["clock_rate_khz"]):
        # No memory, no multiprocessors, no clock: no GPU. (The 8.0 such builds write as compute
        # capability is the same whatever targets were asked for, so it names no GPU either.)
        return DeviceProperties(order="memory first", absent=True)
    if not _plausible_capability(fields["major"], fields["minor"]) or fields["integrated"] not in (0, 1):
        return None
    return DeviceProperties(
        compute_capability=f"{fields['major']}.{fields['minor']}", integrated_gpu=bool(fields["integrated"]),
        multiprocessor_count=fields["multiprocessor_count"], clock_rate_khz=fields["clock_rate_khz"],
        memory_clock_rate_khz=fields["memory_clock_rate_khz"], memory_bus_width_bits=fields["memory_bus_width_bits"],
        total_memory_bytes=fields["total_memory_bytes"], order="memory first",
    )


def _plausible_capability(major: int | None, minor: int | None) -> bool:
    return major is not None and minor is not None and 1 <= major <= 20 and 0 <= minor <= 9
