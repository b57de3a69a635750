"""Read which TensorRT release and which GPU built a serialized engine, without TensorRT.

An engine only loads in the release that wrote it and (by default) on the GPU model it was built
for, so these two facts are what a user needs when ``deserializeCudaEngine`` fails. The file is
decoded by its structure, family by family:

- a wrapper in front of the plan is skipped and reported: Ultralytics' exporter writes a u32
  length and a JSON metadata document before the engine bytes;
- ``ftrt`` / ``vtrt`` containers (TensorRT 8.6+, TensorRT-RTX): engine_container.py;
- ``ptrt`` plans (TensorRT 7.0 to 8.5, and inside every container): engine_plan.py, with the
  version and building GPU in its typed records (engine_records.py);
- TensorRT 5/6 plans without a magic: engine_flatbuffer.py.

Every answer says how it was obtained (``tensorrt_version_source``): "version bytes" (exact),
"serialization tag" (the releases known to write the header's tag, all of them where it is
ambiguous) or "unknown". A file is called truncated only when a length field that its structure
vouches for declares more bytes than the file has; a consistent file in a layout the decoder does
not know is "unrecognised TensorRT layout: read so far ..." with what could be read.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from edgetrt.diagnose.engine_bytes import EngineBytes, TruncatedEngine, UnrecognisedLayout
from edgetrt.diagnose.engine_container import CONTAINER_MAGICS, decode_container
from edgetrt.diagnose.engine_flatbuffer import decode_flatbuffer_plan, looks_like_flatbuffer_plan
from edgetrt.diagnose.engine_plan import PLAN_MAGIC, Plan, decode_plan
from edgetrt.diagnose.release_tables import (
    TENSORRT,
    TENSORRT_RTX,
    describe_serialization_tag,
    jetson_models_for_compute_capability,
    releases_for_serialization_tag,
)
from edgetrt.errors import ModelFileError

VERSION_BYTES, SERIALIZATION_TAG, UNKNOWN = "version bytes", "serialization tag", "unknown"
ULTRALYTICS_WRAPPER = "ultralytics-metadata"
MAX_METADATA_BYTES = 16 << 20
# An ONNX ModelProto starts with ir_version (protobuf tag 0x08, a one-byte varint) followed by
# one of its other fields: producer_name .. opset_import.
ONNX_MODEL_FIELD_TAGS = {0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42}
UNRECOGNISED_ADVICE = (
    "this looks like a TensorRT engine in a layout edgetrt does not know (a newer release?): load it with "
    "the TensorRT the candidate version names (`trtexec --loadEngine=FILE`), or rebuild it on the device "
    "from ONNX (`edgetrt deploy MODEL --device NAME`)"
)


@dataclass(frozen=True)
class EngineHeader:
    file: str
    tensorrt_version: str | None
    compute_capability: str | None
    format: str
    serialization_tag: int | None
    product: str = TENSORRT
    tensorrt_version_source: str = UNKNOWN
    serialization_tag_field: str | None = None
    serialization_tag_releases: tuple[str, ...] = ()
    compute_capability_source: str = UNKNOWN
    target_compute_capabilities: tuple[str, ...] = ()
    recognised: bool = True
    layout_note: str | None = None
    wrapper: str | None = None
    wrapper_metadata: dict | None = None
    device_name: str | None = None
    integrated_gpu: bool | None = None
    jetson_models: tuple[str, ...] = ()
    multiprocessor_count: int | None = None
    clock_rate_khz: int | None = None
    memory_clock_rate_khz: int | None = None
    memory_bus_width_bits: int | None = None
    total_memory_bytes: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def serialization_tag_description(self) -> str | None:
        if self.serialization_tag is None:
            return None
        return describe_serialization_tag(self.serialization_tag, self.serialization_tag_field, self.product)

    def to_dict(self) -> dict:
        as_dict = asdict(self)
        for name in ("serialization_tag_releases", "target_compute_capabilities", "jetson_models", "notes"):
            as_dict[name] = list(as_dict[name])
        as_dict["serialization_tag_description"] = self.serialization_tag_description
        return as_dict


def read_engine_header(path: str | Path) -> EngineHeader:
    """Decode an engine file's header; ModelFileError when the file is not a TensorRT engine."""
    engine_path = Path(path)
    try:
        status = os.stat(engine_path)
    except FileNotFoundError:
        raise ModelFileError(f"{engine_path}: no such engine file") from None
    except OSError as error:
        raise ModelFileError(f"{engine_path}: cannot read: {error.strerror}") from None
    if stat.S_ISDIR(status.st_mode):
        raise ModelFileError(f"{engine_path}: is a directory, not a TensorRT engine")
    if not stat.S_ISREG(status.st_mode):
        # A FIFO or a device would block or never end: an engine is always a regular file.
        raise ModelFileError(f"{engine_path}: not a regular file (a pipe or device), not a TensorRT engine",
                             hint="pass the engine file itself (.engine/.plan/.trt)")
    try:
        with engine_path.open("rb") as engine_file:
            def read_at(offset: int, length: int) -> bytes:
                engine_file.seek(offset)
                return engine_file.read(length)

            return decode_engine(EngineBytes(read_at, status.st_size), str(engine_path))
    except OSError as error:
        raise ModelFileError(f"{engine_path}: cannot read: {error.strerror}") from None


def parse_engine_header(head: bytes, file_size: int, file: str) -> EngineHeader:
    """Decode from the file's first bytes (``head``) and its full size; pure."""
    return decode_engine(EngineBytes.from_prefix(head, file_size), file)


def decode_engine(source: EngineBytes, file: str) -> EngineHeader:
    if source.size == 0:
        raise ModelFileError(f"{file}: not a TensorRT engine: the file is empty", hint="rebuild the engine")
    wrapper = _ultralytics_wrapper(source, file)
    offset = wrapper[0] if wrapper else 0
    try:
        header = _decode_plan_at(source, offset, source.size - offset, file)
    except TruncatedEngine as truncated:
        raise ModelFileError(
            f"{file}: not a TensorRT engine: truncated ({truncated.detail})",
            hint="the copy is incomplete: copy the engine again in full (compare sizes), or rebuild it on the device",
        ) from None
    except UnrecognisedLayout as unknown:
        header = _unrecognised(file, unknown)
    if wrapper:
        header = replace(header, wrapper=ULTRALYTICS_WRAPPER, wrapper_metadata=wrapper[1],
                         notes=header.notes + (f"{offset} bytes of Ultralytics JSON metadata precede the plan; "
                                               "TensorRT itself cannot load this file, Ultralytics can",))
    return header


def _decode_plan_at(source: EngineBytes, offset: int, extent: int, file: str) -> EngineHeader:
    magic = source.at(offset, 4)
    if magic in CONTAINER_MAGICS:
        return _from_container(file, decode_container(source, offset, extent))
    if magic == PLAN_MAGIC:
        return _from_plan(file, decode_plan(source, offset, extent), product=TENSORRT)
    if looks_like_flatbuffer_plan(source, offset):
        return _from_flatbuffer(file, decode_flatbuffer_plan(source, offset, extent))
    if len(magic) == 4 and magic.endswith(b"trt") and magic[:1].isalpha() and magic.islower():
        raise UnrecognisedLayout(f"{magic.decode('ascii')!r} file", [f"magic {magic.decode('ascii')!r}"])
    raise _not_an_engine(file, source.at(offset, 16))


def _from_plan(file: str, plan: Plan, product: str, **overrides) -> EngineHeader:
    releases = tuple(releases_for_serialization_tag(plan.serialization_tag, plan.tag_field, product))
    source = VERSION_BYTES if plan.tensorrt_version else (SERIALIZATION_TAG if releases else UNKNOWN)
    device = plan.device
    header = EngineHeader(
        file=file, product=product, tensorrt_version=plan.tensorrt_version, format=plan.layout,
        tensorrt_version_source=source,
        serialization_tag=plan.serialization_tag, serialization_tag_field=plan.tag_field,
        serialization_tag_releases=releases, compute_capability=device.compute_capability if device else None,
        notes=(f"{plan.trailing_bytes} bytes follow the plan",) if plan.trailing_bytes > 4 else (),
    )
    if not plan.payload_known:
        header = replace(header, recognised=False, layout_note=(
            f"unrecognised TensorRT layout: read so far: magic 'ptrt', {plan.layout} header, serialization tag "
            f"{describe_serialization_tag(plan.serialization_tag, plan.tag_field, product)}; the payload is in no "
            "known record layout"), notes=header.notes + (UNRECOGNISED_ADVICE,))
    if device is not None and device.absent:
        header = replace(header, notes=header.notes + ("the header records no building GPU: an ahead-of-time "
                                                       "build on a machine without one",))
    elif device is not None and device.compute_capability:
        header = replace(header, **_gpu_fields(asdict(device)))
    return replace(header, **overrides)


def _from_container(file: str, container) -> EngineHeader:
    overrides = dict(format=container.layout, tensorrt_version=container.version, tensorrt_version_source=VERSION_BYTES,
                     target_compute_capabilities=container.target_compute_capabilities)
    if container.plan is None:
        return EngineHeader(file=file, product=container.product, compute_capability=None, serialization_tag=None,
                            recognised=False, layout_note=f"unrecognised TensorRT layout: read so far: "
                            f"magic {container.magic!r}, version bytes {container.version}; {container.plan_note}",
                            notes=(UNRECOGNISED_ADVICE,), **overrides)
    header = _from_plan(file, container.plan, container.product, **overrides)
    if container.plan.tensorrt_version and container.plan.tensorrt_version != container.version:
        header = replace(header, notes=header.notes + (
            f"the container says {container.version}, its plan {container.plan.tensorrt_version}",))
    return header


def _from_flatbuffer(file: str, plan) -> EngineHeader:
    fields = {name: getattr(plan, name) for name in (
        "compute_capability", "integrated_gpu", "multiprocessor_count", "clock_rate_khz",
        "memory_clock_rate_khz", "memory_bus_width_bits", "total_memory_bytes")}
    header = EngineHeader(file=file, tensorrt_version=plan.tensorrt_version, compute_capability=None,
                          format="trt5-flatbuffer", serialization_tag=None, tensorrt_version_source=VERSION_BYTES,
                          device_name=plan.device_name)
    return replace(header, **_gpu_fields(fields)) if plan.compute_capability else header


def _gpu_fields(device: dict) -> dict:
    capability, integrated = device["compute_capability"], device["integrated_gpu"]
    return {
        "compute_capability": capability, "compute_capability_source": "device properties",
        "integrated_gpu": integrated,
        "jetson_models": tuple(jetson_models_for_compute_capability(capability)) if integrated else (),
        **{name: device[name] for name in ("multiprocessor_count", "clock_rate_khz", "memory_clock_rate_khz",
                                           "memory_bus_width_bits", "total_memory_bytes")},
    }


def _unrecognised(file: str, unknown: UnrecognisedLayout) -> EngineHeader:
    return EngineHeader(
        file=file, tensorrt_version=None, compute_capability=None, format="unrecognised", serialization_tag=None,
        recognised=False, layout_note=f"unrecognised TensorRT layout: read so far: {'; '.join(unknown.read_so_far)}",
        notes=(UNRECOGNISED_ADVICE,),
    )


def _ultralytics_wrapper(source: EngineBytes, file: str) -> tuple[int, dict] | None:
    """(plan offset, metadata) when a u32 length and a JSON object precede the engine bytes."""
    length = source.u32(0)
    if source.at(4, 1) != b"{" or not length or length > MAX_METADATA_BYTES:
        return None
    if 4 + length > source.size:
        raise ModelFileError(f"{file}: not a TensorRT engine: truncated (the metadata block declares {length} "
                             f"bytes, the file has {source.size})", hint="copy the engine again in full")
    try:
        metadata = json.loads(source.at(4, length).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return (4 + length, metadata) if isinstance(metadata, dict) else None


def _not_an_engine(file: str, head: bytes) -> ModelFileError:
    return ModelFileError(
        f"{file}: not a TensorRT engine: starts with {head[:8].hex(' ')}, not the plan magic 'ptrt', 'ftrt' or 'vtrt'"
        f"{_looks_like(head)}",
        hint="pass a serialized engine (.engine/.plan/.trt), e.g. one built by `edgetrt deploy`",
    )


def _looks_like(head: bytes) -> str:
    if head.startswith(b"PK\x03\x04"):
        return " (a zip archive, e.g. a PyTorch checkpoint)"
    if head.startswith(b"\x89HDF"):
        return " (an HDF5 file, e.g. Keras weights)"
    if len(head) > 2 and head[0] == 0x08 and head[1] < 0x80 and head[2] in ONNX_MODEL_FIELD_TAGS:
        return " (looks like an ONNX model)"
    return ""
