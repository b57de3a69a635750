"""classify_log over every captured user error in tests/fixtures/errors.

Each fixture's leading '#' lines are its label: the Category line is the truth the first
finding must fit; the rest of the file is the input. B-files come from the project's field
collection, G-files were gathered from public issues for wording the B-files lack.
"""

import json
import re
from pathlib import Path

import pytest

from edgetrt.diagnose.findings import EXPLAINS, FINDING_CODES, GUIDANCE, Finding
from edgetrt.diagnose.log_classifier import classify_log, looked_for, strip_label_header
from edgetrt.diagnose.log_facts import trtexec_banner_version

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ERROR_LOGS = sorted((FIXTURES / "errors").glob("*.txt"))
HEALTHY_LOGS = sorted((FIXTURES / "logs").glob("*.txt"))

# Label words -> acceptable first codes. Checked in order; the first matching entry decides.
CATEGORY_TO_CODES = [
    ("missing/empty model file", {"MODEL_FILE_UNREADABLE"}),
    ("corrupt plan", {"ENGINE_NOT_A_PLAN", "ENGINE_TRT_VERSION"}),
    ("magic tag", {"ENGINE_NOT_A_PLAN"}),
    ("empty/missing engine", {"ENGINE_NOT_A_PLAN"}),
    ("version mismatch", {"ENGINE_TRT_VERSION"}),
    ("version tag mismatch", {"ENGINE_TRT_VERSION"}),
    ("different device", {"ENGINE_GPU_MISMATCH"}),
    ("different jetson", {"ENGINE_GPU_MISMATCH"}),
    ("wrong gpu", {"ENGINE_GPU_MISMATCH"}),
    ("'killed'", {"OOM_KILLED"}),
    ("plugin missing", {"PLUGIN_MISSING"}),
    ("cuda environment", {"CUDA_ENV"}),
    ("unsupported sm", {"TRT_SM_UNSUPPORTED"}),
    ("lacks the device's sm", {"TRT_SM_UNSUPPORTED"}),
    ("oom", {"OOM_DEVICE_MEMORY"}),
    ("memory insufficient", {"OOM_DEVICE_MEMORY"}),
    ("nvmap", {"OOM_DEVICE_MEMORY"}),
    ("device table", {"JETSON_TRT_TABLE"}),
    ("tf-trt", {"TFTRT_ENGINE_OP"}),
    ("installed-vs-used", {"TRT_MULTIPLE_INSTALLS"}),
    ("could not find any implementation", {"BUILD_NO_IMPLEMENTATION"}),
]

# What each log's text (not its label) states; the classifier must extract at least this.
STATED_VERSIONS = {
    "B01": {"runtime_tensorrt": "5.1.6", "engine_tensorrt": "5.0.6"},
    "B02": {"runtime_tensorrt": "5.1.5", "engine_tensorrt": "0.0.0"},
    "B04": {"runtime_tensorrt": "8.0.0", "engine_tensorrt": "8.0.1", "tensorrt_mentioned": ["8.0.1.6"]},
    "B05": {"runtime_tensorrt": "5.1.5", "engine_tensorrt": "5.1.6", "jetson_board": "Jetson Nano"},
    "B07": {"runtime_tensorrt": "8.0.0", "engine_tensorrt": "8.0.1"},
    "B08": {"runtime_tensorrt": "5.1.2", "engine_tensorrt": "5.1.5"},
    "B10": {"tensorrt_mentioned": ["3.04", "4.0.1"]},
    "B11": {"runtime_tensorrt": "8.2.4", "engine_tensorrt": "8.2.3", "tensorrt_packages": ["8.2.4"]},
    "B13": {"runtime_serialization_tag": 0, "engine_serialization_tag": 43, "engine_tensorrt_candidates": ["8.0"]},
    "B14": {"runtime_serialization_tag": 0, "engine_serialization_tag": 97, "engine_tensorrt_candidates": ["7.1.3"]},
    "B16": {"runtime_serialization_tag": 236, "engine_serialization_tag": 237, "runtime_tensorrt_candidates": ["8.6"]},
    "B17": {"runtime_serialization_tag": 236, "engine_serialization_tag": 237, "runtime_tensorrt_candidates": ["8.6"]},
    "B19": {"runtime_serialization_tag": 232, "engine_serialization_tag": 237},
    "B23": {"tensorrt_mentioned": ["7.1.3.0"]},
    "B28": {"runtime_serialization_tag": 237, "engine_serialization_tag": 239},
    "B29": {"runtime_tensorrt": "10.11.0.33", "runtime_serialization_tag": 240, "engine_serialization_tag": 239,
            "runtime_tensorrt_candidates": ["10.11"]},
    "B31": {"runtime_serialization_tag": 213, "engine_serialization_tag": 205, "runtime_tensorrt_candidates": ["8.4"],
            "engine_tensorrt_candidates": ["8.2"], "tensorrt_mentioned": ["8.4.1"]},
    "B32": {"runtime_serialization_tag": 213, "engine_serialization_tag": 232},
    "B35": {"tensorrt_mentioned": ["8.6.0.12"]},
    "B40": {"compute_capability": {"expected": "6.1", "got": "7.5"}, "device_compute_capability": "6.1",
            "engine_compute_capability": "7.5"},
    "B41": {"compute_capability": {"expected": "8.6", "got": "7.5"}},
    "B43": {"tensorrt_mentioned": ["7.1", "7.0.0.11"], "jetson_board": "Jetson Nano"},
    "B44": {"compute_capability": {"expected": "7.5", "got": "6.1"}, "engine_compute_capability": "6.1"},
    "B46": {"compute_capability": {"expected": "7.2", "got": "5.3"}},
    "B47": {"compute_capability": {"expected": "7.5", "got": "7.0"}},
    "B55": {"tensorrt_mentioned": ["7.1.3.4"], "jetpack": "4.4"},
    "B56": {"tensorrt_packages": ["5.0.6"], "jetson_board": "Jetson Nano"},
    "B64": {"tensorrt_mentioned": ["8.2.1.8"], "jetpack": "4.6.2"},
    "B65": {"jetson_board": "Jetson AGX Orin"},
    "B70": {"tensorrt_packages": ["5.0.2"]},
    "B76": {"device_compute_capability": "8.7", "jetson_board": "Jetson Orin Nano", "jetpack": "7.2", "l4t": "39.2.0"},
    "B77": {"tensorrt_banner": "8.5.2", "tensorrt_packages": ["10.0.1"]},
    "B79": {"device_memory_requested_mb": 2304, "device_memory_available_mb": 1536},
    "B80": {"device_memory_requested_mb": 1000, "device_memory_available_mb": 302, "jetson_board": None},
    "B81": {"device_memory_requested_mb": 448, "device_memory_available_mb": 425},
    "B82": {"compute_capability": {"expected": "9.0", "got": "8.9"}},
    "B83": {"compute_capability": {"expected": "7.2", "got": "8.7"}, "tensorrt_mentioned": ["8.6.11"]},
    "B84": {"compute_capability": {"expected": "6.1", "got": "7.5"}},
    "B87": {"device_compute_capability": "8.9"},
    "B90": {"device_compute_capability": "6.1", "tensorrt_mentioned": ["10.4.0"]},
    "B91": {"device_compute_capability": "12.0", "tensorrt_banner": "10.7.0"},
    "B92": {"device_compute_capability": "7.0"},
    "B93": {"tensorrt_mentioned": ["10.4.0"]},
    "B98": {"jetson_board": "Jetson Nano"},
    "G01": {"jetson_board": "Jetson Xavier NX", "jetpack": "4.6", "tensorrt_mentioned": ["8.2"]},
    "G02": {"runtime_serialization_tag": 232, "engine_serialization_tag": 205, "engine_tensorrt_candidates": ["8.2"],
            "runtime_tensorrt_candidates": ["8.5.1", "8.5.2", "8.5.3"], "tensorrt_mentioned": ["8.5.1.7"]},
    "G03": {"runtime_serialization_tag": 0, "engine_serialization_tag": 43, "engine_tensorrt_candidates": ["8.0"]},
    "G04": {"tensorrt_mentioned": None},  # "DETECT_TRT version: 1.0" names a plugin, not TensorRT
    "G06": {"runtime_serialization_tag": 239, "engine_serialization_tag": 237, "runtime_tensorrt_candidates": ["10.3", "10.9"],
            "engine_tensorrt_candidates": ["8.5.0", "10.0", "10.1"]},
    "G08": {"jetpack": "5.1.2", "tensorrt_mentioned": ["8.2.4.2"]},
    "G10": {"gpu_memory_requested_bytes": 15485030400},
    "G11": {"jetson_board": "Jetson TX2"},
    "G12": {"tensorrt_linked": "5.0.2", "tensorrt_loaded": "5.1.2"},
    "G13": {"tensorrt_linked": "5.1.6", "tensorrt_loaded": "5.0.6"},
    "G19": {"jetson_board": "Jetson Nano"},
    "G20": {"jetpack": "4.5"},
}


def _label_and_body(path: Path) -> tuple[str, str]:
    raw = path.read_text(encoding="utf-8")
    category = next(line for line in raw.splitlines() if line.startswith("# Category:"))
    return category.removeprefix("# Category:").strip().lower(), strip_label_header(raw)


def _expected_codes(category: str) -> set[str]:
    for words, codes in CATEGORY_TO_CODES:
        if words in category:
            return codes
    raise AssertionError(f"no expectation for category {category!r}: extend CATEGORY_TO_CODES")


def test_there_are_error_fixtures_and_every_stated_entry_names_one():
    assert len(ERROR_LOGS) >= 90
    assert len([path for path in ERROR_LOGS if path.name.startswith("G")]) >= 15
    prefixes = {path.name[:3] for path in ERROR_LOGS}
    assert set(STATED_VERSIONS) <= prefixes


@pytest.mark.parametrize("log_path", ERROR_LOGS, ids=[path.name[:3] for path in ERROR_LOGS])
def test_first_finding_fits_the_label(log_path):
    category, body = _label_and_body(log_path)
    assert not body.lstrip().startswith("#")
    codes = [finding.code for finding in classify_log(body)]
    assert codes, f"nothing recognised in {log_path.name}"
    expected = _expected_codes(category)
    # A cause may come before the finding the label names, when the log shows both.
    first_is_its_cause = any(code in codes and code in EXPLAINS[codes[0]] for code in expected)
    assert codes[0] in expected or first_is_its_cause, codes


@pytest.mark.parametrize("log_path", ERROR_LOGS, ids=[path.name[:3] for path in ERROR_LOGS])
def test_findings_are_well_formed_and_quote_the_log(log_path):
    _, body = _label_and_body(log_path)
    findings = classify_log(body)
    codes = [finding.code for finding in findings]
    assert len(codes) == len(set(codes))
    assert codes == sorted(codes, key=FINDING_CODES.index)
    for finding in findings:
        assert isinstance(finding, Finding)
        assert finding.fix == GUIDANCE[finding.code][1]
        assert finding.evidence
        for line in finding.evidence:
            assert line.rstrip("…") in body or line.startswith(("trtexec reports", "TensorFlow was built")), line
        json.dumps(finding.to_dict())


@pytest.mark.parametrize("prefix", sorted(STATED_VERSIONS))
def test_versions_the_text_states_are_extracted(prefix):
    log_path = next(path for path in ERROR_LOGS if path.name.startswith(prefix))
    _, body = _label_and_body(log_path)
    versions = classify_log(body)[0].versions
    for key, expected in STATED_VERSIONS[prefix].items():
        assert versions.get(key) == expected, (key, versions)  # None: the text does not state it


def test_labels_are_not_read_as_input():
    # B13's label names "TRT 8.2.1" and "r32.7.1"; its body names neither.
    log_path = next(path for path in ERROR_LOGS if path.name.startswith("B13"))
    _, body = _label_and_body(log_path)
    versions = classify_log(body)[0].versions
    assert "l4t" not in versions and "tensorrt_mentioned" not in versions


def test_expecting_means_runtime_and_got_means_engine():
    findings = classify_log(
        "ERROR: The engine plan file is not compatible with this version of TensorRT, "
        "expecting library version 5.1.6 got 5.1.5, please rebuild."
    )
    assert [finding.code for finding in findings] == ["ENGINE_TRT_VERSION"]
    assert findings[0].versions["runtime_tensorrt"] == "5.1.6"
    assert findings[0].versions["engine_tensorrt"] == "5.1.5"
    assert "serialized by TensorRT 5.1.5" in findings[0].summary


def test_a_second_install_comes_before_the_version_mismatch_it_causes():
    log_path = next(path for path in ERROR_LOGS if path.name.startswith("B17"))
    codes = [finding.code for finding in classify_log(_label_and_body(log_path)[1])]
    assert codes == ["TRT_MULTIPLE_INSTALLS", "ENGINE_TRT_VERSION"]


def test_out_of_memory_comes_before_the_missing_implementation_it_causes():
    log_path = next(path for path in ERROR_LOGS if path.name.startswith("G10"))
    codes = [finding.code for finding in classify_log(_label_and_body(log_path)[1])]
    assert codes == ["OOM_DEVICE_MEMORY", "BUILD_NO_IMPLEMENTATION"]


@pytest.mark.parametrize("log_path", HEALTHY_LOGS, ids=[path.name[:3] for path in HEALTHY_LOGS])
def test_healthy_trtexec_tegrastats_and_dpkg_output_yields_no_findings(log_path):
    assert classify_log(strip_label_header(log_path.read_text(encoding="utf-8"))) == []


# No captured fixture shows these families; the lines are the messages as NVIDIA's stack prints them.
@pytest.mark.parametrize(
    "line, code",
    [
        ("NvRmMemInitNvmap failed with Permission denied", "CUDA_ENV"),
        ("[TRT] [W] CUDA initialization failure with error: 35", "CUDA_ENV"),
        ("CUDA driver version is insufficient for CUDA runtime version", "CUDA_ENV"),
        ("Out of memory: Killed process 4242 (python3) total-vm:6053252kB", "OOM_KILLED"),
        ("python3 invoked oom-killer: gfp_mask=0x100cca", "OOM_KILLED"),
        ("tensorflow.python.framework.errors_impl.ResourceExhaustedError: OOM when allocating tensor", "OOM_DEVICE_MEMORY"),
        ("CUDA error: no kernel image is available for execution on the device", "TRT_SM_UNSUPPORTED"),
    ],
)
def test_families_without_fixtures(line, code):
    assert classify_log(line)[0].code == code


# Wordings from issue 11 that the doctor missed, and the TensorRT-RTX runtime's refusal on an
# H200 (measured for docs/research: an RTX engine has no sm_90 target).
@pytest.mark.parametrize(
    "text, code, stated",
    [
        ("Deserialization Failed. Internal error. Magic Tag assertion failed.", "ENGINE_NOT_A_PLAN", {}),
        ("[ERROR] Tactic Device request: 2168MB Available: 1536MB. Device memory is insufficient to use tactic.",
         "OOM_DEVICE_MEMORY", {"device_memory_requested_mb": 2168, "device_memory_available_mb": 1536}),
        ("cudaMalloc fails OOM", "OOM_DEVICE_MEMORY", {}),
        ("the engine produced from TRT 8.4.2.4 and deserialized using TRT 8.5.1.7 throws", "ENGINE_TRT_VERSION",
         {"engine_tensorrt": "8.4.2.4", "runtime_tensorrt": "8.5.1.7"}),
        ("The engine cannot run on this GPU, which has compute capability 9.0. Supported compute capabilities: "
         "8.0 8.6 8.9 12.0 12.1 >12.0.", "ENGINE_GPU_MISMATCH",
         {"device_compute_capability": "9.0", "engine_compute_capabilities": ["8.0", "8.6", "8.9", "12.0", "12.1", ">12.0"]}),
        ("[E] Error[9]: IBuilder::buildSerializedNetwork: Error Code 9: API Usage Error (Target GPU SM 87 is not "
         "supported by this TensorRT release.)", "TRT_SM_UNSUPPORTED", {"device_compute_capability": "8.7"}),
    ],
)
def test_wordings_the_fixtures_were_not_written_from(text, code, stated):
    findings = classify_log(text)
    assert findings and findings[0].code == code, [finding.code for finding in findings]
    for key, value in stated.items():
        assert findings[0].versions.get(key) == value, (key, findings[0].versions)


def test_summaries_state_what_the_log_says():
    gpu = classify_log("The engine cannot run on this GPU, which has compute capability 9.0. Supported compute "
                       "capabilities: 8.0 8.6.")[0]
    assert gpu.summary == "the engine targets compute capabilities 8.0 8.6, the GPU running it has 9.0"
    memory = classify_log("Tactic Device request: 2168MB Available: 1536MB.")[0]
    assert "2168 MB" in memory.summary and "1536 MB available" in memory.summary
    tags = classify_log("Version tag does not match. Note: Current Version: 239, Serialized Engine Version: 237)")[0]
    assert "10.3, 10.9: verified in an engine header" in tags.summary
    assert "8.5.0, 10.0, 10.1: from error messages only, unverified" in tags.summary


def test_every_finding_code_is_named_in_what_was_looked_for():
    assert [entry["code"] for entry in looked_for()] == list(FINDING_CODES)
    assert all(entry["failure"] for entry in looked_for())


def test_empty_and_unrelated_text_yield_nothing():
    assert classify_log("") == []
    assert classify_log("[I] Loaded engine size: 12 MiB\n&&&& PASSED TensorRT.trtexec") == []


def test_strip_label_header_keeps_everything_after_the_labels():
    assert strip_label_header("# a\n# b\nline 1\n# not a label\n") == "line 1\n# not a label"


@pytest.mark.parametrize("banner, version", [(8502, "8.5.2"), (8601, "8.6.1"), (100200, "10.2.0"), (7103, "7.1.3")])
def test_trtexec_banner_numbers(banner, version):
    assert trtexec_banner_version(banner) == version


@pytest.mark.parametrize("log_path", ERROR_LOGS, ids=[path.name[:3] for path in ERROR_LOGS])
def test_every_log_names_its_public_source(log_path):
    first, second, third = log_path.read_text(encoding="utf-8").splitlines()[:3]
    assert re.match(r"# Source: https://github\.com/[\w.-]+/[\w.-]+/(issues|pull|discussions)/\d+$", first), first
    assert second.startswith("# Stated versions/platform: ") and third.startswith("# Category: ")
