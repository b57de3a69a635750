"""The Jetson tables (edgetrt/agent/data/*.json) and their look-ups in edgetrt/agent/jetson.py."""

import json
import re
from pathlib import Path

import pytest

from edgetrt.agent import jetson as releases

DATA = Path(releases.__file__).with_name("data")


def test_table_rows_are_complete_and_well_formed():
    table = dict(json.loads((DATA / "l4t_releases.json").read_text(encoding="utf-8")),
                 **json.loads((DATA / "jetson_socs.json").read_text(encoding="utf-8")))
    version = re.compile(r"^\d+(\.\d+)+$")
    assert len(table["l4t"]) >= 30
    for l4t, row in table["l4t"].items():
        assert re.match(r"^\d+\.\d+\.\d+$", l4t), l4t
        for field in ("tensorrt", "cuda", "cudnn", "ubuntu", "python"):
            assert version.match(row[field]), (l4t, field, row[field])
        assert isinstance(row["confirmed"], bool)
    for soc, row in table["socs"].items():
        assert row["gpu_arch"] == "sm_" + row["compute_capability"].replace(".", "")


@pytest.mark.parametrize("l4t, jetpack, tensorrt, cuda, python", [
    ("32.7.6", "4.6.6", "8.2.1", "10.2", "3.6"),
    ("R32.7.4", "4.6.4", "8.2.1.9", "10.2.300", "3.6"),
    ("32.6.1", "4.6", "8.0.1.6", "10.2.300", "3.6"),
    ("32.5.1", "4.5.1", "7.1.3", "10.2", "3.6"),
    ("32.1", "4.2", "5.0.6", "10.0", "3.6"),
    ("35.1.0", "5.0.2", "8.4.1", "11.4", "3.8"),
    ("35.4.1", "5.1.2", "8.5.2", "11.4.19", "3.8"),
    ("36.3.0", "6.0", "8.6.2.3", "12.2", "3.10"),
    ("36.4.3", "6.2", "10.3.0.30", "12.6", "3.10"),
])
def test_release_for_l4t(l4t, jetpack, tensorrt, cuda, python):
    row = releases.release_for_l4t(l4t)
    assert (row["jetpack"], row["tensorrt"], row["cuda"], row["python"]) == (jetpack, tensorrt, cuda, python)
    assert releases.jetpack_for_l4t(l4t) == jetpack


def test_every_jetpack_4_6_x_has_tensorrt_8_2_or_8_0():
    for patch in range(1, 7):
        row = releases.release_for_l4t("32.7.{}".format(patch))
        if patch == 1 or row["jetpack"] != "unknown":
            assert row["jetpack"].startswith("4.6."), row
            assert row["tensorrt"].startswith("8.2.1"), row


@pytest.mark.parametrize("value", ["99.9.9", "not a release", "", None, "32"])
def test_unknown_release_is_unknown_not_an_error(value):
    row = releases.release_for_l4t(value)
    assert row["jetpack"] == row["tensorrt"] == row["cuda"] == "unknown"
    assert row["confirmed"] is False
    assert releases.jetpack_for_l4t(value) == "unknown"


@pytest.mark.parametrize("soc, cc, arch, family", [
    ("tegra210", "5.3", "sm_53", "Maxwell"),
    ("tegra186", "6.2", "sm_62", "Pascal"),
    ("tegra194", "7.2", "sm_72", "Volta"),
    ("tegra234", "8.7", "sm_87", "Ampere"),
])
def test_soc_info(soc, cc, arch, family):
    info = releases.soc_info(soc)
    assert (info["compute_capability"], info["gpu_arch"], info["family"]) == (cc, arch, family)
    assert releases.compute_capability(soc) == cc


def test_unknown_soc():
    assert releases.compute_capability("tegra999") == "unknown"
    assert releases.soc_info(None)["modules"] == []


@pytest.mark.parametrize("model, module, soc", [
    ("NVIDIA Jetson Nano Developer Kit\x00", "Jetson Nano", "tegra210"),
    ("NVIDIA Jetson TX2 Developer Kit", "Jetson TX2", "tegra186"),
    ("Jetson-AGX", "Jetson AGX Xavier", "tegra194"),
    ("NVIDIA Jetson Xavier NX Developer Kit", "Jetson Xavier NX", "tegra194"),
    ("NVIDIA Jetson AGX Orin Developer Kit", "Jetson AGX Orin", "tegra234"),
    ("NVIDIA Orin NX Developer Kit", "Jetson Orin NX", "tegra234"),
    ("NVIDIA Orin Nano Developer Kit", "Jetson Orin Nano", "tegra234"),  # not "Jetson Nano"
    ("Raspberry Pi 4 Model B", "unknown", "unknown"),
    ("", "unknown", "unknown"),
    (None, "unknown", "unknown"),
])
def test_module_for_model(model, module, soc):
    assert releases.module_for_model(model) == {"module": module, "soc": soc}


def test_soc_from_compatible_and_board():
    compatible = "nvidia,p3449-0000-b00+p3448-0000-b00\x00nvidia,jetson-nano\x00nvidia,tegra210\x00"
    assert releases.soc_for_compatible(compatible) == "tegra210"
    assert releases.soc_for_compatible("") == "unknown"
    assert releases.soc_for_board("t210ref") == "tegra210"
    assert releases.soc_for_board("t186ref") == "unknown"  # TX2, Xavier and Orin all say t186ref
    assert releases.soc_for_board(None) == "unknown"


def test_table_is_read_with_pkgutil_from_a_zip(tmp_path):
    """The agent ships as a zipapp: the table must load from inside a zip."""
    import zipfile
    import subprocess
    import sys

    agent = Path(releases.__file__).parent
    archive = tmp_path / "agent.zip"
    with zipfile.ZipFile(str(archive), "w") as zf:
        for path in agent.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(str(path), "edgetrt_agent/" + str(path.relative_to(agent)))
    code = "from edgetrt_agent import jetson; print(jetson.jetpack_for_l4t('32.7.6'), jetson.module_for_part_number('p3448-0003')['memory_mb'])"
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(archive)},
                         capture_output=True, text=True, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "4.6.6 2048"


@pytest.mark.parametrize("compatible, module, memory_mb", [
    ("nvidia,p3449-0000-b00+p3448-0000-b00\x00nvidia,jetson-nano\x00nvidia,tegra210\x00", "Jetson Nano (4 GB)", 4096),
    ("nvidia,p3542-0000+p3448-0003\x00nvidia,jetson-nano\x00nvidia,tegra210\x00", "Jetson Nano 2GB", 2048),
    ("nvidia,p3768-0000+p3767-0005\x00nvidia,p3767-0005\x00nvidia,tegra234\x00", "Jetson Orin Nano (developer kit, 8 GB)", 8192),
])
def test_modules_are_told_apart_by_part_number(compatible, module, memory_mb):
    found = releases.module_for_parts(compatible)
    assert (found["module"], found["memory_mb"]) == (module, memory_mb)
    assert releases.soc_info(found["soc"])["compute_capability"] in ("5.3", "8.7")


def test_carrier_boards_and_unknown_parts_are_not_modules():
    assert releases.module_for_parts("nvidia,p3449-0000-b00") is None
    assert releases.module_for_part_number("p9999-0000") is None
    assert releases.part_numbers(None) == []


def test_every_module_names_a_listed_soc_and_socs_agree_with_their_arch():
    socs = releases.table("socs")["socs"]
    for part, row in releases.table("modules")["modules"].items():
        assert row["soc"] in socs, part
        assert row["memory_mb"] > 0, part
    assert releases.modules_with_compute_capability("5.3") == ["Jetson Nano", "Jetson TX1"]
    assert releases.modules_with_compute_capability("6.2") == ["Jetson TX2", "Jetson TX2 NX"]
