"""'ftrt' (TensorRT 8.6+) and 'vtrt' (TensorRT-RTX) containers: a header, a section table, a plan.

Layout (little-endian, offsets from the magic), read from real engines:

    0x00 magic 'ftrt' | 'vtrt'   0x04 u32 0   0x08 u32 section count   0x0c u32 0
    0x10 u64 container size      0x18 4 x u8 version (major, minor, patch, build)
    0x1c 4 bytes: 0 (8.6), 'rtrt' (10.3, 10.9), 'vtrt' (TensorRT-RTX)
    [vtrt only: 0x20 u64 target compute-capability mask, then zeros up to the table]
    section table: count x {4-byte tag, u32 0, u64 offset, u64 size}; 'NGNE' holds the plan
    ('ptrt', engine_plan.py); 10.9 and RTX add a 'THGW' section after it.

The version bytes at 0x18 are the container's own statement of the release (exact). The table is
found by walking: it is the first 8-byte-aligned place after the fixed header where ``count``
well-formed entries lie inside the container. Names by earliest release seen: ``trt8.6-ftrt``
(8.6.1, 10.3.0: one section, 24-byte plan header), ``trt10.9-ftrt`` (10.9.0: 20-byte plan header),
``rtx1.7-vtrt`` (TensorRT-RTX 1.7.1).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from edgetrt.diagnose.engine_bytes import (
    EngineBytes,
    TruncatedEngine,
    UnrecognisedLayout,
    plausible_size,
    plausible_version,
)
from edgetrt.diagnose.engine_plan import Plan, decode_plan
from edgetrt.diagnose.release_tables import TENSORRT, TENSORRT_RTX, rtx_target_capabilities

TENSORRT_CONTAINER_MAGIC = b"ftrt"
RTX_CONTAINER_MAGIC = b"vtrt"
CONTAINER_MAGICS = (TENSORRT_CONTAINER_MAGIC, RTX_CONTAINER_MAGIC)
FIXED_HEADER_SIZE = 0x20
SECTION_ENTRY_SIZE = 24
TABLE_SEARCH_END = 0x100
MAX_SECTIONS = 64
ENGINE_SECTION = "NGNE"
SECTION_TAG_CHARACTERS = set(string.ascii_uppercase + string.digits)
CONTAINER_NAMES = {
    ("ftrt", "trt8.2-ptrt"): "trt8.6-ftrt",
    ("ftrt", "trt10.9-ptrt"): "trt10.9-ftrt",
    ("vtrt", "trt10.9-ptrt"): "rtx1.7-vtrt",
}


@dataclass(frozen=True)
class Section:
    tag: str
    offset: int
    size: int


@dataclass(frozen=True)
class Container:
    magic: str
    product: str
    version: str
    flavour: str
    sections: tuple[Section, ...]
    plan: Plan | None
    plan_note: str | None
    target_compute_capabilities: tuple[str, ...]
    layout: str


def decode_container(source: EngineBytes, offset: int, extent: int) -> Container:
    magic = source.at(offset, 4)
    if not source.has(offset, FIXED_HEADER_SIZE) or extent < FIXED_HEADER_SIZE:
        raise TruncatedEngine(f"the container header is cut short ({min(extent, source.available - offset)} bytes)")
    zero_a, count, zero_b, declared = source.unpack("IIIQ", offset + 4)
    version_bytes = source.at(offset + 0x18, 4)
    flavour = source.at(offset + 0x1C, 4)
    read_so_far = [f"magic {magic.decode('ascii')!r}", f"version bytes {'.'.join(map(str, version_bytes))} at 0x18",
                   f"section count {count}", f"declared size {declared}"]
    if zero_a or zero_b or not 1 <= count <= MAX_SECTIONS or not FIXED_HEADER_SIZE <= declared < 1 << 40:
        raise UnrecognisedLayout(f"{magic.decode('ascii')!r} container", read_so_far)
    if declared > extent:
        raise TruncatedEngine(f"the container declares {declared} bytes, the file has {extent}")
    if not plausible_version(version_bytes):
        raise UnrecognisedLayout(f"{magic.decode('ascii')!r} container", read_so_far)
    table_at = _find_section_table(source, offset, count, declared)
    if table_at is None:
        raise UnrecognisedLayout(f"{magic.decode('ascii')!r} container", read_so_far + ["no section table found"])
    sections = tuple(_section(source, offset + table_at + i * SECTION_ENTRY_SIZE) for i in range(count))
    plan, plan_note = _engine_plan(source, offset, sections)
    targets: tuple[str, ...] = ()
    if magic == RTX_CONTAINER_MAGIC and table_at > FIXED_HEADER_SIZE:
        targets = tuple(rtx_target_capabilities(source.u64(offset + FIXED_HEADER_SIZE) or 0))
    magic_name = magic.decode("ascii")
    layout = CONTAINER_NAMES.get((magic_name, plan.layout if plan else ""), f"{magic_name} container")
    return Container(
        magic=magic_name,
        product=TENSORRT_RTX if magic == RTX_CONTAINER_MAGIC else TENSORRT,
        version=".".join(map(str, version_bytes)),
        flavour=flavour.decode("ascii") if flavour.isalpha() else "",
        sections=sections,
        plan=plan,
        plan_note=plan_note,
        target_compute_capabilities=targets,
        layout=layout,
    )


def _find_section_table(source: EngineBytes, offset: int, count: int, declared: int) -> int | None:
    for table_at in range(FIXED_HEADER_SIZE, TABLE_SEARCH_END, 8):
        table_end = table_at + count * SECTION_ENTRY_SIZE
        entries = [_section(source, offset + table_at + i * SECTION_ENTRY_SIZE) for i in range(count)]
        if all(entry and _well_formed(entry, table_end, declared) for entry in entries):
            return table_at
    return None


def _section(source: EngineBytes, position: int) -> Section | None:
    fields = source.unpack("4sIQQ", position)
    if fields is None or fields[1] != 0:
        return None
    tag, _, section_offset, size = fields
    if not set(tag.decode("latin-1")) <= SECTION_TAG_CHARACTERS:
        return None
    return Section(tag.decode("ascii"), section_offset, size)


def _well_formed(section: Section, table_end: int, declared: int) -> bool:
    return table_end <= section.offset and section.offset + section.size <= declared


def _engine_plan(source: EngineBytes, offset: int, sections: tuple[Section, ...]) -> tuple[Plan | None, str | None]:
    engine = next((section for section in sections if section.tag == ENGINE_SECTION), None)
    if engine is None:
        return None, f"no {ENGINE_SECTION} section among {', '.join(s.tag for s in sections)}"
    if not plausible_size(engine.size):
        return None, f"the {ENGINE_SECTION} section is empty"
    try:
        return decode_plan(source, offset + engine.offset, engine.size), None
    except UnrecognisedLayout as unknown:
        return None, f"{ENGINE_SECTION} section at 0x{engine.offset:x}: {'; '.join(unknown.read_so_far)}"
    except TruncatedEngine as inconsistent:
        # The container is whole (its size was checked); a plan larger than its section is a layout
        # this decoder misreads, not a damaged copy.
        return None, f"{ENGINE_SECTION} section at 0x{engine.offset:x} of {engine.size} bytes: {inconsistent.detail}"
