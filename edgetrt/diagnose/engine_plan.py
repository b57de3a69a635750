"""The 'ptrt' plan header: which of its words is the serialization tag and which the payload size.

A plan is the 'ptrt' magic, a short header, then the typed-record payload (engine_records.py). The
header's layout changed between releases; each is named after the earliest release seen with it
(little-endian offsets from the magic):

``trt7-ptrt`` (seen 7.1.0, 7.1.3), 24 bytes: 0x04 u32 tag (the "safe" word: 95, 97), 0x08 u32
  (unexplained: 209, 211), 0x0c u64 payload size, 0x14 u32 (a checksum, presumably).
``trt8.0-ptrt`` (seen 8.0.1), 24 bytes: 0x04 u32 tag (43), 0x08 u32 (256), 0x0c u32 (checksum?),
  0x10 u64 payload size.
``trt8.2-ptrt`` (seen 8.2.1 to 10.3.0), 24 bytes: 0x04 u32 0 (the safe word, unused from 8.2 on),
  0x08 u32 tag (the "std" word: 205 ... 239), 0x0c u32 0, 0x10 u64 payload size.
``trt10.9-ptrt`` (seen 10.9.0, TensorRT-RTX 1.7.1), 20 bytes: 0x04 u32 tag (239; RTX 100),
  0x08 u64 payload size, 0x10 u32 0.

The layout is chosen by structure, not by a list of files: it must have its zero words, a
plausible tag and size, and the payload must start, right after its header, with the four u8
version records. A size equal to the space the plan has means a complete plan; a larger one,
truncation. A header that fits exactly but a payload in no known record layout still gives the
serialization tag (and so the releases that write it); no layout fitting at all is an
unrecognised layout (reported with what was read).
"""

from __future__ import annotations

from dataclasses import dataclass

from edgetrt.diagnose.engine_bytes import (
    EngineBytes,
    TruncatedEngine,
    UnrecognisedLayout,
    plausible_size,
)
from edgetrt.diagnose.engine_records import (
    DeviceProperties,
    device_properties,
    read_records,
    starts_with_version,
    version_from_records,
)

PLAN_MAGIC = b"ptrt"
MAX_TAG = 4095
# How far past the magic to look for version records when no layout fits (for the report only).
VERSION_SCAN_BYTES = 256
VERSION_RECORDS_BYTES = 4 * 5  # four u8 records: u16 type, u16 count, u8 value


@dataclass(frozen=True)
class PlanHeaderLayout:
    name: str
    header_size: int
    tag_offset: int
    tag_field: str
    size_offset: int
    size_width: int
    zero_words: tuple[int, ...]


PLAN_HEADER_LAYOUTS = (
    PlanHeaderLayout("trt7-ptrt", 24, 0x04, "safe", 0x0C, 8, ()),
    PlanHeaderLayout("trt8.0-ptrt", 24, 0x04, "safe", 0x10, 8, ()),
    PlanHeaderLayout("trt8.2-ptrt", 24, 0x08, "std", 0x10, 8, (0x04, 0x0C)),
    PlanHeaderLayout("trt10.9-ptrt", 20, 0x04, "std", 0x08, 8, (0x10,)),
)
SMALLEST_HEADER = min(layout.header_size for layout in PLAN_HEADER_LAYOUTS)
LARGEST_HEADER = max(layout.header_size for layout in PLAN_HEADER_LAYOUTS)


@dataclass(frozen=True)
class Plan:
    layout: str
    serialization_tag: int
    tag_field: str
    tensorrt_version: str | None
    device: DeviceProperties | None
    payload_size: int
    trailing_bytes: int
    payload_known: bool = True


def decode_plan(source: EngineBytes, offset: int, extent: int) -> Plan:
    """The plan at ``offset`` that has ``extent`` bytes of room (the file's, or its section's)."""
    if not source.has(offset, SMALLEST_HEADER) or extent < SMALLEST_HEADER:
        raise TruncatedEngine(f"the plan header is cut short ({min(extent, source.available - offset)} bytes)")
    fitting = [candidate for candidate in (_candidate(source, offset, layout) for layout in PLAN_HEADER_LAYOUTS)
               if candidate]
    verified = [(layout, tag, size) for layout, tag, size, has_version in fitting if has_version]
    for layout, tag, size in verified:
        room = extent - layout.header_size
        if size <= room:
            return _plan(source, offset, layout, tag, size, room - size)
    if verified:
        layout, _tag, size = verified[0]
        present = extent - layout.header_size
        raise TruncatedEngine(f"the plan header declares {size} payload bytes, {present} are present")
    for layout, tag, size, _ in fitting:
        if size == extent - layout.header_size:
            return Plan(layout=layout.name, serialization_tag=tag, tag_field=layout.tag_field, tensorrt_version=None,
                        device=None, payload_size=size, trailing_bytes=0, payload_known=False)
    readable = min(extent, source.available - offset)
    if readable < LARGEST_HEADER + VERSION_RECORDS_BYTES:
        # No plan is this short: the copy ends before any known header and its first records.
        raise TruncatedEngine(f"the plan stops after {readable} bytes, before its payload")
    raise UnrecognisedLayout("'ptrt' plan", _read_so_far(source, offset))


def _candidate(source: EngineBytes, offset: int, layout: PlanHeaderLayout):
    if not source.has(offset, layout.header_size):
        return None
    if any(source.u32(offset + word) != 0 for word in layout.zero_words):
        return None
    tag = source.u32(offset + layout.tag_offset)
    size = source.u64(offset + layout.size_offset)
    if not tag or tag > MAX_TAG or not plausible_size(size):
        return None
    return layout, tag, size, starts_with_version(source, offset + layout.header_size)


def _plan(source: EngineBytes, offset: int, layout: PlanHeaderLayout, tag: int, size: int, trailing: int) -> Plan:
    records = read_records(source, offset + layout.header_size)
    return Plan(
        layout=layout.name, serialization_tag=tag, tag_field=layout.tag_field,
        tensorrt_version=version_from_records(records), device=device_properties(records),
        payload_size=size, trailing_bytes=trailing,
    )


def _read_so_far(source: EngineBytes, offset: int) -> list[str]:
    words = [source.u32(offset + position) for position in (4, 8, 12, 16)]
    read = ["magic 'ptrt'", "header words " + ", ".join(f"0x{4 * (i + 1):02x}={w}" for i, w in enumerate(words))]
    version = scan_for_version(source, offset + 4, VERSION_SCAN_BYTES)
    if version:
        read.append(f"candidate version {version[1]} (u8 records at +0x{version[0] - offset:x})")
    return read


def scan_for_version(source: EngineBytes, start: int, length: int) -> tuple[int, str] | None:
    """The first place within ``length`` bytes where four u8 version records start, and that version."""
    for position in range(start, start + length, 4):
        records = read_records(source, position)[:4]
        version = version_from_records(records)
        if version:
            return position, version
    return None
