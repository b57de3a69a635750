"""Each fact in one place: the tables that used to be written twice or three times are defined once,
and every consumer reads that one (checked in the source, and by behaviour where it can be)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "edgetrt"


def sources(*suffixes):
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and path.suffix in suffixes and "__pycache__" not in path.parts:
            yield path.relative_to(PACKAGE).as_posix(), path.read_text(encoding="utf-8")


def where(pattern: str, *suffixes) -> list[str]:
    regex = re.compile(pattern)
    return [name for name, text in sources(*suffixes or (".py",)) if regex.search(text)]


def test_status_words_are_defined_once():
    assert where(r'\(\s*"ok",\s*"oom",\s*"killed"') == ["agent/protocol.py"]


def test_the_protocol_version_is_defined_once_and_read_by_the_one_agent_client():
    assert where(r"PROTOCOL_VERSION\s*=") == ["agent/protocol.py"]
    host_readers = [n for n in where(r"PROTOCOL_VERSION") if not n.startswith("agent/")]
    assert host_readers == ["device/agent_client.py"]


def test_the_backend_precision_format_table_is_defined_once():
    assert where(r'\(\s*"onnxruntime",\s*"int8"\s*\)\s*:') == ["agent/protocol.py"]
    assert where(r'"onnx_int8"\s*:') == []  # no dict keyed by format names elsewhere


def test_failed_results_are_made_by_one_function():
    # A result with no measurement ("steady": None) is written out in one place only.
    assert where(r'"steady":\s*None') == ["agent/protocol.py"]
    from edgetrt.agent import outcome, protocol
    from edgetrt.device.agent_client import RunResult

    assert outcome.failed_result is protocol.failed_result
    host = RunResult.failed("tensorrt", "fp16", 1, "error", "x").to_dict()
    device = protocol.failed_result({"backend": "tensorrt", "precision": "fp16", "batch": 1}, "error", "x")
    assert {k: host[k] for k in device} == device


def test_jetson_compute_capabilities_live_only_in_the_jetson_tables():
    # "5.3" as a value (a quoted string) anywhere but the SoC table is a second copy of a fact.
    found = [n for n in where(r'["\']5\.3["\']', ".py", ".json", ".yaml")]
    assert found == ["agent/data/jetson_socs.json"], found


@pytest.mark.parametrize("profile", ["nano", "nano-2gb", "tx2", "xavier-nx", "agx-orin"])
def test_device_profiles_read_the_jetson_tables(profile):
    from edgetrt.agent import jetson
    from edgetrt.config.profiles import load_profiles

    facts = load_profiles()[profile]
    module = jetson.module_for_part_number(facts["part_number"])
    soc = jetson.soc_info(module["soc"])
    assert (facts["compute_capability"], facts["memory_mb"], facts["fast_int8"]) == \
        (soc["compute_capability"], module["memory_mb"], soc["fast_int8"])
    family = jetson.releases_of_family(facts["l4t"])
    assert family and all(r["tensorrt"].startswith(facts["tensorrt"]) for r in family)


def test_engine_headers_name_jetsons_from_the_same_table():
    from edgetrt.agent import jetson
    from edgetrt.diagnose.release_tables import jetson_models_for_compute_capability

    assert jetson_models_for_compute_capability("7.2") == jetson.modules_with_compute_capability("7.2")


def test_agent_answers_are_read_in_one_place():
    assert where(r"\bread_answer\b") == ["device/agent_client.py"]
    assert where(r"AgentClient\(") == ["device/session.py"]
    # No host module runs agent code in its own process any more.
    assert where(r"agent\.supervise|agent\.measure|run_supervised") == \
        [n for n in where(r"agent\.supervise|agent\.measure|run_supervised") if n.startswith("agent/")]
