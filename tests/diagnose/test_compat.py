"""engine_loads_on with headers decoded from the real fixture engines."""

from pathlib import Path

import pytest

from edgetrt.diagnose.compat import engine_loads_on
from edgetrt.diagnose.engine_header import read_engine_header

ENGINES = Path(__file__).resolve().parents[1] / "fixtures" / "engines"


@pytest.fixture(scope="module")
def nano_82():
    return read_engine_header(ENGINES / "A08_guorbit_trt8.2.1.8_JetsonNano.engine")


@pytest.fixture(scope="module")
def rtx3060_86():
    return read_engine_header(ENGINES / "A11_mn12you_trt8.6.1.6.engine")


@pytest.fixture(scope="module")
def t4_103():
    return read_engine_header(ENGINES / "A06_nttrung_covid_trt10.3.0.26_x86.trt")


@pytest.fixture(scope="module")
def t4_71():
    return read_engine_header(ENGINES / "A04_bleedingfight_trt7.1.3.4_x86.plan")


def test_same_release_and_gpu_loads(nano_82):
    verdict = engine_loads_on(nano_82, "8.2.1.8", "5.3")
    assert verdict == {"ok": True, "reasons": [], "fix": ""}


def test_build_number_difference_does_not_load(nano_82):
    verdict = engine_loads_on(nano_82, "8.2.1.9", "5.3")
    assert verdict["ok"] is False
    assert "8.2.1.8" in verdict["reasons"][0] and "8.2.1.9" in verdict["reasons"][0]
    assert "edgetrt deploy MODEL --device NAME" in verdict["fix"]


def test_pre_86_engines_get_no_version_compatibility_note(t4_71):
    reasons = engine_loads_on(t4_71, "8.2.1.8", "7.5")["reasons"]
    assert len(reasons) == 1
    assert "VERSION_COMPATIBLE" not in reasons[0]


def test_86_engine_on_newer_runtime_mentions_version_compatible_mode(rtx3060_86):
    verdict = engine_loads_on(rtx3060_86, "10.3.0.26", "8.6")
    assert verdict["ok"] is False
    assert any("VERSION_COMPATIBLE" in reason for reason in verdict["reasons"])


def test_newer_engine_on_older_runtime_says_never(t4_103):
    reasons = engine_loads_on(t4_103, "8.6.1.6", "7.5")["reasons"]
    assert any("never run on an older runtime" in reason for reason in reasons)


def test_jetson_engine_on_another_jetson_gpu(nano_82):
    verdict = engine_loads_on(nano_82, "8.2.1.8", "7.2")
    assert verdict["ok"] is False
    assert "5.3" in verdict["reasons"][0] and "7.2" in verdict["reasons"][0]
    assert not any("hardware compatibility" in reason for reason in verdict["reasons"])


def test_ampere_to_ada_mentions_hardware_compatibility(rtx3060_86):
    reasons = engine_loads_on(rtx3060_86, "8.6.1.6", "8.9")["reasons"]
    assert any("hardware compatibility" in reason for reason in reasons)


def test_turing_engine_gets_no_hardware_compatibility_note(t4_103):
    reasons = engine_loads_on(t4_103, "10.3.0.26", "8.6")["reasons"]
    assert len(reasons) == 1 and "hardware compatibility" not in reasons[0]


def test_unknown_device_facts_give_no_verdict(nano_82):
    verdict = engine_loads_on(nano_82, None, None)
    assert verdict["ok"] is None
    assert len(verdict["reasons"]) == 2
    assert verdict["fix"]


def test_three_part_device_version_is_not_enough(nano_82):
    assert engine_loads_on(nano_82, "8.2.1", "5.3")["ok"] is None
    assert engine_loads_on(nano_82, "8.4.1", "5.3")["ok"] is False


def test_a_known_mismatch_wins_over_an_unknown(nano_82):
    assert engine_loads_on(nano_82, "8.0.1.6", None)["ok"] is False


def test_unparsable_device_version_is_unknown_not_a_crash(nano_82):
    assert engine_loads_on(nano_82, "eight", "5.3")["ok"] is None


def test_a_profile_with_a_three_part_version_asks_for_the_missing_part_not_the_same_command(nano_82):
    verdict = engine_loads_on(nano_82, "8.2.1", "5.3", device_name="nano")
    assert verdict["ok"] is None
    assert "--device-tensorrt" in verdict["fix"] and "edgetrt doctor device nano --probe" in verdict["fix"]
    assert "doctor engine" not in verdict["fix"]


def test_a_profile_without_a_tensorrt_version_says_where_to_read_it(nano_82):
    fix = engine_loads_on(nano_82, None, "5.3", device_name="x86")["fix"]
    assert "x86 profile names no TensorRT version" in fix and "doctor engine" not in fix


@pytest.fixture(scope="module")
def rtx_default():
    return read_engine_header(next(ENGINES.glob("R01_*")))


def test_a_tensorrt_rtx_engine_never_loads_on_a_jetson(rtx_default):
    verdict = engine_loads_on(rtx_default, "8.6.2.3", "8.7", device_name="agx-orin", device_is_jetson=True)
    assert verdict["ok"] is False
    assert "never loads on a Jetson" in verdict["reasons"][0]


def test_a_tensorrt_rtx_engine_needs_tensorrt_rtx_and_a_targeted_gpu(rtx_default):
    on_tensorrt = engine_loads_on(rtx_default, "10.3.0.26", "8.6")
    assert on_tensorrt["ok"] is False and "loads only in TensorRT-RTX" in on_tensorrt["reasons"][0]
    hopper = engine_loads_on(rtx_default, None, "9.0")
    assert hopper["ok"] is False and any("8.0 8.6 8.9 12.0 12.1 >12.0" in r for r in hopper["reasons"])
    ada = engine_loads_on(rtx_default, None, "8.9")
    assert ada["ok"] is None  # the GPU fits; what the device runs is unknown


def test_version_known_only_from_the_tag_still_rules_out_other_releases(nano_82):
    from dataclasses import replace

    tag_only = replace(nano_82, tensorrt_version=None, tensorrt_version_source="serialization tag")
    assert engine_loads_on(tag_only, "10.3.0.26", "5.3")["ok"] is False
    same_release = engine_loads_on(tag_only, "8.2.1.8", "5.3")
    assert same_release["ok"] is None and "205 (TensorRT 8.2" in same_release["reasons"][0]


def test_a_wrapped_engine_says_only_ultralytics_loads_it_as_saved(nano_82):
    from dataclasses import replace

    wrapped = replace(nano_82, wrapper="ultralytics-metadata", wrapper_metadata={"task": "detect"})
    verdict = engine_loads_on(wrapped, "8.2.1.8", "5.3")
    assert verdict["ok"] is True
    assert any("Ultralytics strips it" in reason for reason in verdict["reasons"])
