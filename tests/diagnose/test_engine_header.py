"""read_engine_header over real engines from tests/fixtures (TensorRT 5.0 to 10.9, TensorRT-RTX 1.7).

The manifest is the truth: every engine decodes to its exact version and, where the manifest
knows it, compute capability (a trailing "?" marks a value known only from the header). Damaged
copies (cut short) must be called truncated; complete engines in a layout the decoder does not
know must not be.
"""

import csv
import json
import os
import random
import re
import sys
from pathlib import Path

import pytest

from edgetrt.diagnose.engine_header import EngineHeader, parse_engine_header, read_engine_header
from edgetrt.errors import ModelFileError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rtx_engines  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ENGINES = FIXTURES / "engines"
KNOWN_LAYOUTS = {"trt5-flatbuffer", "trt7-ptrt", "trt8.0-ptrt", "trt8.2-ptrt", "trt8.6-ftrt", "trt10.9-ftrt",
                 "rtx1.7-vtrt"}
ULTRALYTICS_METADATA = {"description": "Ultralytics YOLOv8n model", "author": "Ultralytics", "version": "8.3.0",
                        "stride": 32, "task": "detect", "batch": 1, "imgsz": [640, 640], "names": {"0": "person"}}


def manifest_rows() -> list[dict]:
    with (ENGINES / "MANIFEST.tsv").open(newline="") as manifest:
        return list(csv.DictReader(manifest, delimiter="\t"))


ROWS = manifest_rows()
IDS = [row["file"][:3] for row in ROWS]
FIELD_ROWS = [row for row in ROWS if not row["platform"].startswith("no GPU")]


def stated(value: str) -> str:
    return value.rstrip("?")


def ultralytics_wrapped(engine: bytes, metadata: dict = ULTRALYTICS_METADATA) -> bytes:
    """What Ultralytics' exporter writes: a little-endian u32 length, the JSON, then the engine."""
    document = json.dumps(metadata).encode()
    return len(document).to_bytes(4, "little") + document + engine


def test_manifest_covers_every_engine_file():
    listed = {row["file"] for row in ROWS}
    on_disk = {path.name for path in ENGINES.iterdir() if path.name != "MANIFEST.tsv"}
    assert listed == on_disk


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_decodes_exact_version_and_compute_capability(row):
    header = read_engine_header(ENGINES / row["file"])
    assert header.tensorrt_version == stated(row["tensorrt_version"])
    assert header.tensorrt_version_source == "version bytes"
    if row["build_gpu_compute_capability"]:
        assert header.compute_capability == stated(row["build_gpu_compute_capability"])
        assert header.compute_capability_source == "device properties"
    assert header.format in KNOWN_LAYOUTS and header.recognised and header.layout_note is None
    assert header.file == str(ENGINES / row["file"])


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_serialization_tag_table_agrees_with_the_decoded_version(row):
    header = read_engine_header(ENGINES / row["file"])
    if header.format == "trt5-flatbuffer":
        assert header.serialization_tag is None  # TensorRT 5/6 plans have no tag word
        return
    version_parts = header.tensorrt_version.split(".")
    assert any(version_parts[: len(prefix.split("."))] == prefix.split(".") for prefix in header.serialization_tag_releases), (
        header.serialization_tag,
        header.serialization_tag_releases,
    )
    # Every fixture is itself the evidence: its release must be among the verified ones.
    assert "verified in an engine header" in header.serialization_tag_description


@pytest.mark.parametrize("row", FIELD_ROWS, ids=[row["file"][:3] for row in FIELD_ROWS])
def test_gpu_properties_match_the_platform_the_manifest_states(row):
    header = read_engine_header(ENGINES / row["file"])
    platform = row["platform"]
    assert header.integrated_gpu is platform.startswith("Jetson")
    if header.integrated_gpu:
        assert any(model.removeprefix("Jetson ") in platform for model in header.jetson_models)
    bus_width = re.search(r"(\d+)-bit", platform)
    if bus_width:
        assert header.memory_bus_width_bits == int(bus_width.group(1))
    clocks = re.search(r"(\d+(?:\.\d+)?)(?:/(\d+))? MHz", platform)
    if clocks:
        assert header.clock_rate_khz == round(float(clocks.group(1)) * 1000)
        if clocks.group(2):  # the manifest rounds memory clocks to the MHz figure people quote
            assert header.memory_clock_rate_khz == pytest.approx(int(clocks.group(2)) * 1000, rel=0.005)
    assert header.multiprocessor_count and header.multiprocessor_count > 0
    assert header.total_memory_bytes and header.total_memory_bytes > 1 << 30


def test_layout_families_are_told_apart():
    layouts = {row["tensorrt_version"].rstrip("?"): read_engine_header(ENGINES / row["file"]).format for row in ROWS}
    assert layouts["5.0.6.3"] == "trt5-flatbuffer"
    assert layouts["7.1.3.4"] == "trt7-ptrt"
    assert layouts["8.0.1.6"] == "trt8.0-ptrt"
    assert layouts["8.2.1.8"] == layouts["8.4.1.5"] == layouts["8.5.2.2"] == "trt8.2-ptrt"
    assert layouts["8.6.1.6"] == layouts["10.3.0.26"] == "trt8.6-ftrt"
    assert layouts["10.9.0.34"] == "trt10.9-ftrt"
    assert layouts["1.7.1.116"] == "rtx1.7-vtrt"


def test_trt5_plan_names_its_gpu():
    header = read_engine_header(next(ENGINES.glob("A17_*")))
    assert header.device_name == "NVIDIA Tegra X2"
    assert header.jetson_models == ("Jetson TX2", "Jetson TX2 NX") and header.multiprocessor_count == 2


def test_to_dict_has_the_documented_keys_and_plain_types():
    header = read_engine_header(ENGINES / ROWS[0]["file"])
    as_dict = header.to_dict()
    assert {"file", "tensorrt_version", "tensorrt_version_source", "compute_capability", "format",
            "serialization_tag", "serialization_tag_description", "product", "recognised"} <= set(as_dict)
    assert isinstance(as_dict["serialization_tag_releases"], list)
    json.dumps(as_dict)
    assert isinstance(header, EngineHeader)


# --- TensorRT-RTX ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, targets", [("R01", ["8.0", "8.6", "8.9", "12.0", "12.1", ">12.0"]), ("R02", ["7.5"])])
def test_committed_rtx_engines_name_their_targets(name, targets):
    header = read_engine_header(next(ENGINES.glob(f"{name}_*")))
    assert header.product == "TensorRT-RTX" and header.tensorrt_version == "1.7.1.116"
    assert list(header.target_compute_capabilities) == targets
    assert header.compute_capability is None and header.integrated_gpu is None
    assert any("no building GPU" in note for note in header.notes)


@pytest.mark.parametrize("targets, expected", [
    (["SM86", "SM120"], ["8.6", "12.0"]),
    (["SM121"], ["12.1"]),
    (["SM75", "SM80", "SM89"], ["7.5", "8.0", "8.9"]),
])
def test_rtx_engines_built_now_decode_to_1_7_1_116_and_their_targets(tmp_path, targets, expected):
    pytest.importorskip(rtx_engines.RTX_MODULE, reason="the TensorRT-RTX wheels (dev extra) are not installed")
    engine = tmp_path / "rtx.engine"
    engine.write_bytes(rtx_engines.build_rtx_engine(targets))
    header = read_engine_header(engine)
    assert (header.product, header.tensorrt_version, header.format) == ("TensorRT-RTX", "1.7.1.116", "rtx1.7-vtrt")
    assert list(header.target_compute_capabilities) == expected
    assert header.serialization_tag == 100


# --- wrappers -------------------------------------------------------------------------------


def test_ultralytics_metadata_is_skipped_and_reported(tmp_path):
    for row in ROWS[:3] + [next(r for r in ROWS if r["file"].startswith("A21"))]:
        wrapped = tmp_path / "yolo.engine"
        wrapped.write_bytes(ultralytics_wrapped((ENGINES / row["file"]).read_bytes()))
        header = read_engine_header(wrapped)
        assert header.tensorrt_version == stated(row["tensorrt_version"])
        assert header.wrapper == "ultralytics-metadata" and header.wrapper_metadata == ULTRALYTICS_METADATA
        assert any("Ultralytics" in note for note in header.notes)


# --- damaged copies and unknown layouts -----------------------------------------------------


def _tiny_onnx_bytes() -> bytes:
    pytest.importorskip("onnx")
    return rtx_engines.tiny_onnx_model()


def _assert_not_an_engine(path: Path) -> ModelFileError:
    with pytest.raises(ModelFileError) as raised:
        read_engine_header(path)
    message = str(raised.value)
    assert "not a TensorRT engine" in message
    assert "\n" not in message
    return raised.value


def test_onnx_file_is_not_an_engine(tmp_path):
    onnx_path = tmp_path / "model.onnx"
    onnx_path.write_bytes(_tiny_onnx_bytes())
    error = _assert_not_an_engine(onnx_path)
    assert "ONNX" in str(error)


def test_empty_file_is_not_an_engine(tmp_path):
    empty = tmp_path / "empty.engine"
    empty.write_bytes(b"")
    assert "empty" in str(_assert_not_an_engine(empty))


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_not_an_engine(tmp_path, seed):
    noise = tmp_path / "noise.engine"
    noise.write_bytes(random.Random(seed).randbytes(4096))
    _assert_not_an_engine(noise)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
@pytest.mark.parametrize("keep_fraction", [0.0005, 0.5, 0.999])
def test_truncated_engine_is_not_an_engine(tmp_path, row, keep_fraction):
    data = (ENGINES / row["file"]).read_bytes()
    truncated = tmp_path / row["file"]
    truncated.write_bytes(data[: max(4, int(len(data) * keep_fraction))])
    error = _assert_not_an_engine(truncated)
    assert "truncated" in str(error) and "in full" in error.hint


@pytest.mark.parametrize("keep_fraction", [0.3, 0.9])
def test_truncated_ultralytics_engine_is_truncated(tmp_path, keep_fraction):
    data = ultralytics_wrapped((ENGINES / ROWS[0]["file"]).read_bytes())
    cut = tmp_path / "yolo.engine"
    cut.write_bytes(data[: int(len(data) * keep_fraction)])
    assert "truncated" in str(_assert_not_an_engine(cut))


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_a_complete_engine_with_bytes_after_it_is_not_truncated(tmp_path, row):
    padded = tmp_path / row["file"]
    padded.write_bytes((ENGINES / row["file"]).read_bytes() + b"\0" * 100)
    assert read_engine_header(padded).tensorrt_version == stated(row["tensorrt_version"])


@pytest.mark.parametrize("cut", [4, 8, 23, 24, 40, 0x38, 0x50])
def test_every_short_prefix_raises_only_model_file_error(cut):
    for row in ROWS:
        head = (ENGINES / row["file"]).read_bytes()[:cut]
        with pytest.raises(ModelFileError, match="not a TensorRT engine"):
            parse_engine_header(head, len(head), row["file"])


@pytest.mark.parametrize("seed", range(40))
def test_mutated_headers_give_a_header_or_a_model_file_error(seed):
    """Hostile bytes: flip bytes of real headers; nothing but a value or ModelFileError comes out."""
    rng = random.Random(seed)
    row = ROWS[seed % len(ROWS)]
    data = bytearray((ENGINES / row["file"]).read_bytes()[: 64 * 1024])
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(0, 0x120)] = rng.randrange(256)
    try:
        header = parse_engine_header(bytes(data), len(data), row["file"])
    except ModelFileError as error:
        assert "\n" not in str(error)
    else:
        assert isinstance(header, EngineHeader)


def _engine_bytes(prefix: str) -> bytearray:
    return bytearray((ENGINES / next(r["file"] for r in ROWS if r["file"].startswith(prefix))).read_bytes())


def _assert_unrecognised(header: EngineHeader):
    assert not header.recognised
    assert header.layout_note.startswith("unrecognised TensorRT layout: read so far:")
    advice = " ".join(header.notes)
    assert "truncated" not in header.layout_note and "binary mode" not in advice
    return header


def test_a_new_plan_header_inside_a_known_container_keeps_the_exact_version(tmp_path):
    data = _engine_bytes("A21")
    data[0x60:0x64] = b"\x01\x00\x00\x00"  # the 20-byte plan header's zero word: a layout not seen yet
    engine = tmp_path / "future.engine"
    engine.write_bytes(bytes(data))
    header = _assert_unrecognised(read_engine_header(engine))
    assert header.tensorrt_version == "10.9.0.34" and header.tensorrt_version_source == "version bytes"
    assert "NGNE section" in header.layout_note


def test_a_plan_whose_payload_is_new_still_gives_the_tag(tmp_path):
    data = _engine_bytes("A08")
    data[0x18:0x1A] = b"\x03\x80"  # the first version record's type: no longer four u8 records
    engine = tmp_path / "future.engine"
    engine.write_bytes(bytes(data))
    header = _assert_unrecognised(read_engine_header(engine))
    assert header.tensorrt_version is None and header.tensorrt_version_source == "serialization tag"
    assert header.serialization_tag == 205 and header.serialization_tag_releases == ("8.2",)


def test_a_plan_header_in_no_known_order_reports_the_candidate_version(tmp_path):
    data = _engine_bytes("A08")
    data[0x04:0x18] = bytes(range(1, 21))  # every header word changed, the payload intact
    engine = tmp_path / "future.engine"
    engine.write_bytes(bytes(data))
    header = _assert_unrecognised(read_engine_header(engine))
    assert "magic 'ptrt'" in header.layout_note and "candidate version 8.2.1.8" in header.layout_note


@pytest.mark.parametrize("change", ["magic", "table"])
def test_unknown_magic_or_section_table_is_unrecognised_not_corrupt(tmp_path, change):
    data = _engine_bytes("A01")
    if change == "magic":
        data[0:4] = b"xtrt"
    else:
        data[0x20:0x38] = b"\xff" * 0x18  # the section table is where the walk cannot find it
    engine = tmp_path / "future.engine"
    engine.write_bytes(bytes(data))
    header = _assert_unrecognised(read_engine_header(engine))
    assert ("'xtrt'" if change == "magic" else "no section table found") in header.layout_note


def test_missing_file_and_directory_are_model_file_errors(tmp_path):
    with pytest.raises(ModelFileError, match="no such engine file"):
        read_engine_header(tmp_path / "absent.engine")
    with pytest.raises(ModelFileError, match="is a directory"):
        read_engine_header(tmp_path)


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "engine.fifo"
    os.mkfifo(fifo)
    with pytest.raises(ModelFileError, match="not a regular file"):
        read_engine_header(fifo)


def test_a_huge_sparse_file_is_read_only_where_needed(tmp_path):
    huge = tmp_path / "huge.engine"
    with huge.open("wb") as sparse:
        sparse.truncate(8 << 30)  # 8 GiB of zeros, no disk used
    _assert_not_an_engine(huge)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_file_is_a_model_file_error(tmp_path):
    locked = tmp_path / "locked.engine"
    locked.write_bytes(b"ptrt")
    locked.chmod(0)
    with pytest.raises(ModelFileError, match="cannot read"):
        read_engine_header(locked)
