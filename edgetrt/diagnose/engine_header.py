"""Read which TensorRT release and which GPU built a serialized engine, without TensorRT.

An engine only loads in the TensorRT release that wrote it and (by default) on the GPU model it
was built for, so these two facts are what a user needs when ``deserializeCudaEngine`` fails.

Layouts, reverse-engineered from real engines (tests/diagnose runs over them; little-endian):

``trt7-ptrt`` (seen: 7.1.0, 7.1.3) -- bare plan, 24-byte header:
    0x00 "ptrt"  0x04 u32 serialization tag (95, 97)  0x08 u32 (unexplained: 209, 211)
    0x0c u64 payload size (file size - 24)            0x14 u32 (a checksum, presumably)
``trt8.0-ptrt`` (seen: 8.0.1) -- same magic and tag word, payload size moved:
    0x04 u32 serialization tag (43)  0x08 u32 (256)  0x0c u32 (checksum?)  0x10 u64 payload size
``trt8.2-ptrt`` (seen: 8.2.1) -- the 0x04 word (TensorRT's "safe" version) became 0:
    0x04 u32 0  0x08 u32 serialization tag (205)  0x0c u32 0  0x10 u64 payload size
``trt8.6-ftrt`` (seen: 8.6.1, 10.3.0) -- a container around a ``trt8.2-ptrt`` plan:
    0x00 "ftrt"  0x10 u64 file size  0x18 4 x u8 TensorRT version
    0x20 "NGNE" section  0x28 u64 section offset (0x38)  0x30 u64 section size  0x38 the plan

Every payload is a stream of typed records: u16 type, u16 count (1 for scalars), then the value.
The low bits of the type give the kind (0x02 u8, 0x06 u32, 0x07 i32, 0x08 i64, 0x09 u64, 0x0a
bool); from 8.2 on the type carries 0x8000. Kinds without a value open structures. The stream
starts with the TensorRT version as four u8 records (major, minor, patch, build), then the
building GPU's properties: the first run of five i32 records is compute capability major, minor,
clock rate (kHz), memory clock rate (kHz) and memory bus width (bits); the i32 just before the
first bool after it is the multiprocessor count and that bool says "integrated GPU" (Jetson);
the first 64-bit record after the 2**31-1 (max grid size) record is the global memory size.
These identifications were checked against the known hardware of every fixture.
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass
from pathlib import Path

from edgetrt.diagnose.release_tables import (
    jetson_models_for_compute_capability,
    releases_for_serialization_tag,
)
from edgetrt.errors import ModelFileError

PLAN_MAGIC = b"ptrt"
CONTAINER_MAGIC = b"ftrt"
ENGINE_SECTION_MAGIC = b"NGNE"
PLAN_HEADER_SIZE = 24
CONTAINER_PLAN_OFFSET = 0x38
# Enough to hold the header and the first records; engines can be gigabytes.
HEADER_READ_SIZE = 64 * 1024
# A payload size above this is not a size but another field read at the wrong offset.
PLAUSIBLE_PAYLOAD_LIMIT = 1 << 40

RECORD_VALUE_SIZES = {0x02: 1, 0x06: 4, 0x07: 4, 0x08: 8, 0x09: 8, 0x0A: 1}
KIND_U8, KIND_I32, KIND_BOOL = 0x02, 0x07, 0x0A
SIXTY_FOUR_BIT_KINDS = (0x08, 0x09)
MAX_RECORDS_SCANNED = 64
MAX_GRID_SIZE_X = 2**31 - 1
# An ONNX ModelProto starts with ir_version (protobuf tag 0x08, a one-byte varint) followed by
# one of its other fields: producer_name .. opset_import.
ONNX_MODEL_FIELD_TAGS = {0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42}


@dataclass(frozen=True)
class EngineHeader:
    file: str
    tensorrt_version: str | None
    compute_capability: str | None
    format: str
    serialization_tag: int | None
    serialization_tag_releases: tuple[str, ...] = ()
    integrated_gpu: bool | None = None
    jetson_models: tuple[str, ...] = ()
    multiprocessor_count: int | None = None
    clock_rate_khz: int | None = None
    memory_clock_rate_khz: int | None = None
    memory_bus_width_bits: int | None = None
    total_memory_bytes: int | None = None

    def to_dict(self) -> dict:
        as_dict = asdict(self)
        as_dict["serialization_tag_releases"] = list(self.serialization_tag_releases)
        as_dict["jetson_models"] = list(self.jetson_models)
        return as_dict


@dataclass(frozen=True)
class _Record:
    kind: int
    value: int | None


def read_engine_header(path: str | Path) -> EngineHeader:
    """Decode an engine file's header; ModelFileError when the file is not a TensorRT engine."""
    engine_path = Path(path)
    try:
        file_size = engine_path.stat().st_size
        with engine_path.open("rb") as engine_file:
            head = engine_file.read(HEADER_READ_SIZE)
    except FileNotFoundError:
        raise ModelFileError(f"{engine_path}: no such engine file") from None
    except IsADirectoryError:
        raise ModelFileError(f"{engine_path}: is a directory, not a TensorRT engine") from None
    except OSError as error:
        raise ModelFileError(f"{engine_path}: cannot read: {error.strerror}") from None
    return parse_engine_header(head, file_size, str(engine_path))


def parse_engine_header(head: bytes, file_size: int, file: str) -> EngineHeader:
    """Decode from the file's first bytes (``head``) and its full size; pure."""
    magic = head[:4]
    if magic == CONTAINER_MAGIC:
        return _parse_container(head, file_size, file)
    if magic == PLAN_MAGIC:
        return _parse_plan(head, 0, file_size, file)
    raise _not_an_engine(file, head, file_size)


def _parse_container(head: bytes, file_size: int, file: str) -> EngineHeader:
    if len(head) < CONTAINER_PLAN_OFFSET + PLAN_HEADER_SIZE:
        raise _truncated(file, "the container header is cut short")
    (declared_size,) = struct.unpack_from("<Q", head, 0x10)
    if declared_size > file_size:
        raise _truncated(file, f"the container declares {declared_size} bytes, the file has {file_size}")
    if head[0x20:0x24] != ENGINE_SECTION_MAGIC:
        raise ModelFileError(
            f"{file}: not a TensorRT engine: 'ftrt' container without an engine section",
            hint="the file is damaged or is another kind of TensorRT container; rebuild the engine",
        )
    section_offset, section_size = struct.unpack_from("<QQ", head, 0x28)
    if section_offset + section_size > declared_size or head[section_offset : section_offset + 4] != PLAN_MAGIC:
        raise _truncated(file, "the engine section lies outside the container")
    plan = _parse_plan(head, section_offset, section_offset + section_size, file)
    container_version = ".".join(str(part) for part in head[0x18:0x1C])
    tensorrt_version = plan.tensorrt_version or container_version
    return _replace(plan, format="trt8.6-ftrt", tensorrt_version=tensorrt_version)


def _parse_plan(head: bytes, offset: int, end: int, file: str) -> EngineHeader:
    if len(head) < offset + PLAN_HEADER_SIZE:
        raise _truncated(file, "the plan header is cut short")
    safe_tag, second_word = struct.unpack_from("<II", head, offset + 4)
    (size_at_0x0c,) = struct.unpack_from("<Q", head, offset + 0x0C)
    (size_at_0x10,) = struct.unpack_from("<Q", head, offset + 0x10)
    if safe_tag and 0 < size_at_0x0c < PLAUSIBLE_PAYLOAD_LIMIT:
        layout, serialization_tag, payload_size = "trt7-ptrt", safe_tag, size_at_0x0c
    elif safe_tag:
        layout, serialization_tag, payload_size = "trt8.0-ptrt", safe_tag, size_at_0x10
    else:
        layout, serialization_tag, payload_size = "trt8.2-ptrt", second_word, size_at_0x10
    available = end - offset - PLAN_HEADER_SIZE
    if payload_size > available:
        raise _truncated(file, f"the header declares {payload_size} payload bytes, {available} are present")
    if payload_size == 0 or payload_size >= PLAUSIBLE_PAYLOAD_LIMIT:
        raise ModelFileError(
            f"{file}: not a TensorRT engine: 'ptrt' magic but no valid payload size",
            hint="the file is damaged; rebuild the engine from ONNX",
        )
    records = _read_records(head, offset + PLAN_HEADER_SIZE)
    return _describe(file, layout, serialization_tag, records)


def _read_records(head: bytes, position: int) -> list[_Record]:
    """The leading typed records, stopping where the stream stops looking like scalars."""
    records: list[_Record] = []
    while len(records) < MAX_RECORDS_SCANNED and position + 4 <= len(head):
        record_type, count = struct.unpack_from("<HH", head, position)
        if count != 1:
            break
        kind = record_type & 0x7FFF
        position += 4
        value_size = RECORD_VALUE_SIZES.get(kind)
        if value_size is None:
            records.append(_Record(kind, None))
            continue
        if position + value_size > len(head):
            break
        signed = kind in (KIND_I32, 0x08)
        value = int.from_bytes(head[position : position + value_size], "little", signed=signed)
        records.append(_Record(kind, value))
        position += value_size
    return records


def _describe(file: str, layout: str, serialization_tag: int, records: list[_Record]) -> EngineHeader:
    # Up to 8.0 the release tag sits in the "safe" header word; from 8.2 on in the "std" one.
    tag_field = "std" if layout == "trt8.2-ptrt" else "safe"
    tensorrt_version = None
    if len(records) >= 4 and all(record.kind == KIND_U8 for record in records[:4]):
        tensorrt_version = ".".join(str(record.value) for record in records[:4])
    device = _device_properties(records[4:]) if tensorrt_version else {}
    compute_capability = device.get("compute_capability")
    integrated_gpu = device.get("integrated_gpu")
    jetson_models: tuple[str, ...] = ()
    if integrated_gpu and compute_capability:
        jetson_models = tuple(jetson_models_for_compute_capability(compute_capability))
    return EngineHeader(
        file=file,
        tensorrt_version=tensorrt_version,
        compute_capability=compute_capability,
        format=layout,
        serialization_tag=serialization_tag,
        serialization_tag_releases=tuple(releases_for_serialization_tag(serialization_tag, tag_field)),
        integrated_gpu=integrated_gpu,
        jetson_models=jetson_models,
        multiprocessor_count=device.get("multiprocessor_count"),
        clock_rate_khz=device.get("clock_rate_khz"),
        memory_clock_rate_khz=device.get("memory_clock_rate_khz"),
        memory_bus_width_bits=device.get("memory_bus_width_bits"),
        total_memory_bytes=device.get("total_memory_bytes"),
    )


def _device_properties(records: list[_Record]) -> dict:
    block_start = _first_i32_run(records, length=5)
    if block_start is None:
        return {}
    major, minor, clock, memory_clock, bus_width = (record.value for record in records[block_start : block_start + 5])
    if not (1 <= major <= 20 and 0 <= minor <= 9):
        return {}
    device: dict = {
        "compute_capability": f"{major}.{minor}",
        "clock_rate_khz": clock,
        "memory_clock_rate_khz": memory_clock,
        "memory_bus_width_bits": bus_width,
    }
    after_block = records[block_start + 5 :]
    for index, record in enumerate(after_block):
        if record.kind == KIND_BOOL:
            device["integrated_gpu"] = bool(record.value)
            if index and after_block[index - 1].kind == KIND_I32:
                device["multiprocessor_count"] = after_block[index - 1].value
            break
    grid_index = next(
        (i for i, record in enumerate(after_block) if record.kind == KIND_I32 and record.value == MAX_GRID_SIZE_X),
        None,
    )
    if grid_index is not None:
        memory = next((r for r in after_block[grid_index:] if r.kind in SIXTY_FOUR_BIT_KINDS), None)
        if memory is not None:
            device["total_memory_bytes"] = memory.value
    return device


def _first_i32_run(records: list[_Record], length: int) -> int | None:
    run_start, run_length = 0, 0
    for index, record in enumerate(records):
        if record.kind == KIND_I32:
            if run_length == 0:
                run_start = index
            run_length += 1
            if run_length == length:
                return run_start
        else:
            run_length = 0
    return None


def _replace(header: EngineHeader, **changes) -> EngineHeader:
    fields = asdict(header)
    fields.update(changes)
    return EngineHeader(**fields)


def _truncated(file: str, detail: str) -> ModelFileError:
    return ModelFileError(
        f"{file}: not a TensorRT engine: truncated ({detail})",
        hint="copy the engine again in binary mode, or rebuild it on the device",
    )


def _not_an_engine(file: str, head: bytes, file_size: int) -> ModelFileError:
    if file_size == 0:
        return ModelFileError(f"{file}: not a TensorRT engine: the file is empty", hint="rebuild the engine")
    prefixed_at = _metadata_prefixed_plan_offset(head)
    if prefixed_at is not None:
        return ModelFileError(
            f"{file}: not a TensorRT engine as saved: {prefixed_at} bytes of JSON metadata precede the plan",
            hint="this is an Ultralytics-style export; load it with that tool or strip the prefix",
        )
    return ModelFileError(
        f"{file}: not a TensorRT engine: starts with {head[:8].hex(' ')}, not the plan magic 'ptrt' or 'ftrt'"
        f"{_looks_like(head)}",
        hint="pass a serialized engine (.engine/.plan/.trt), e.g. one built by `edgetrt deploy`",
    )


def _metadata_prefixed_plan_offset(head: bytes) -> int | None:
    """Ultralytics writes a u32 length and a JSON document in front of the engine bytes."""
    if len(head) < 5 or head[4:5] != b"{":
        return None
    (metadata_length,) = struct.unpack_from("<I", head, 0)
    plan_at = 4 + metadata_length
    if head[plan_at : plan_at + 4] in (PLAN_MAGIC, CONTAINER_MAGIC):
        return plan_at
    return None


def _looks_like(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return " (a zip archive, e.g. a PyTorch checkpoint)"
    if head.startswith(b"\x89HDF"):
        return " (an HDF5 file, e.g. Keras weights)"
    if len(head) > 2 and head[0] == 0x08 and head[1] < 0x80 and head[2] in ONNX_MODEL_FIELD_TAGS:
        return " (looks like an ONNX model)"
    return ""
