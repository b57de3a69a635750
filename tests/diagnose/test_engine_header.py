"""read_engine_header over real engines from tests/fixtures (TensorRT 7.1 to 10.3)."""

import csv
import os
import random
import re
from pathlib import Path

import pytest

from edgetrt.diagnose.engine_header import EngineHeader, parse_engine_header, read_engine_header
from edgetrt.errors import ModelFileError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ENGINES = FIXTURES / "engines"
KNOWN_LAYOUTS = {"trt7-ptrt", "trt8.0-ptrt", "trt8.2-ptrt", "trt8.6-ftrt"}


def manifest_rows() -> list[dict]:
    with (ENGINES / "MANIFEST.tsv").open(newline="") as manifest:
        return list(csv.DictReader(manifest, delimiter="\t"))


ROWS = manifest_rows()


def test_manifest_covers_every_engine_file():
    listed = {row["file"] for row in ROWS}
    on_disk = {path.name for path in ENGINES.iterdir() if path.name != "MANIFEST.tsv"}
    assert listed == on_disk


@pytest.mark.parametrize("row", ROWS, ids=[row["file"][:3] for row in ROWS])
def test_decodes_exact_version_and_compute_capability(row):
    header = read_engine_header(ENGINES / row["file"])
    assert header.tensorrt_version == row["tensorrt_version"]
    if row["build_gpu_compute_capability"]:
        assert header.compute_capability == row["build_gpu_compute_capability"]
    assert header.format in KNOWN_LAYOUTS
    assert header.file == str(ENGINES / row["file"])


@pytest.mark.parametrize("row", ROWS, ids=[row["file"][:3] for row in ROWS])
def test_serialization_tag_table_agrees_with_the_decoded_version(row):
    header = read_engine_header(ENGINES / row["file"])
    assert header.serialization_tag is not None
    version_parts = header.tensorrt_version.split(".")
    assert any(version_parts[: len(prefix.split("."))] == prefix.split(".") for prefix in header.serialization_tag_releases), (
        header.serialization_tag,
        header.serialization_tag_releases,
    )


@pytest.mark.parametrize("row", ROWS, ids=[row["file"][:3] for row in ROWS])
def test_gpu_properties_match_the_platform_the_manifest_states(row):
    header = read_engine_header(ENGINES / row["file"])
    platform = row["platform"]
    assert header.integrated_gpu is platform.startswith("Jetson")
    if header.integrated_gpu:
        assert any(model in platform for model in header.jetson_models)
    bus_width = re.search(r"(\d+)-bit", platform)
    if bus_width:
        assert header.memory_bus_width_bits == int(bus_width.group(1))
    clocks = re.search(r"(\d+(?:\.\d+)?)(?:/(\d+))? MHz", platform)
    if clocks:
        assert header.clock_rate_khz == round(float(clocks.group(1)) * 1000)
        if clocks.group(2):
            assert header.memory_clock_rate_khz == int(clocks.group(2)) * 1000
    assert header.multiprocessor_count and header.multiprocessor_count > 0
    assert header.total_memory_bytes and header.total_memory_bytes > 1 << 30


def test_layout_families_are_told_apart():
    layouts = {row["tensorrt_version"]: read_engine_header(ENGINES / row["file"]).format for row in ROWS}
    assert layouts["7.1.3.4"] == "trt7-ptrt"
    assert layouts["8.0.1.6"] == "trt8.0-ptrt"
    assert layouts["8.2.1.8"] == "trt8.2-ptrt"
    assert layouts["8.6.1.6"] == layouts["10.3.0.26"] == "trt8.6-ftrt"


def test_to_dict_has_the_documented_keys_and_plain_types():
    header = read_engine_header(ENGINES / ROWS[0]["file"])
    as_dict = header.to_dict()
    assert {"file", "tensorrt_version", "compute_capability", "format", "serialization_tag"} <= set(as_dict)
    assert isinstance(as_dict["serialization_tag_releases"], list)
    assert isinstance(header, EngineHeader)


# --- files that are not engines -------------------------------------------------------------


def _tiny_onnx_bytes() -> bytes:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    return helper.make_model(graph).SerializeToString()


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


@pytest.mark.parametrize("row", ROWS, ids=[row["file"][:3] for row in ROWS])
@pytest.mark.parametrize("keep_fraction", [0.0005, 0.5, 0.999])
def test_truncated_engine_is_not_an_engine(tmp_path, row, keep_fraction):
    data = (ENGINES / row["file"]).read_bytes()
    truncated = tmp_path / row["file"]
    truncated.write_bytes(data[: max(4, int(len(data) * keep_fraction))])
    assert "truncated" in str(_assert_not_an_engine(truncated))


@pytest.mark.parametrize("cut", [4, 8, 23, 24, 40, 0x38, 0x50])
def test_every_short_prefix_raises_only_model_file_error(cut):
    for row in ROWS:
        head = (ENGINES / row["file"]).read_bytes()[:cut]
        with pytest.raises(ModelFileError, match="not a TensorRT engine"):
            parse_engine_header(head, len(head), row["file"])


def test_metadata_prefixed_engine_is_named_as_such(tmp_path):
    metadata = b'{"description": "exported", "imgsz": [640, 640]}'
    engine = (ENGINES / ROWS[0]["file"]).read_bytes()
    prefixed = tmp_path / "yolo.engine"
    prefixed.write_bytes(len(metadata).to_bytes(4, "little") + metadata + engine)
    assert "metadata" in str(_assert_not_an_engine(prefixed))


def test_missing_file_and_directory_are_model_file_errors(tmp_path):
    with pytest.raises(ModelFileError, match="no such engine file"):
        read_engine_header(tmp_path / "absent.engine")
    _assert_not_an_engine(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_unreadable_file_is_a_model_file_error(tmp_path):
    locked = tmp_path / "locked.engine"
    locked.write_bytes(b"ptrt")
    locked.chmod(0)
    with pytest.raises(ModelFileError, match="cannot read"):
        read_engine_header(locked)
