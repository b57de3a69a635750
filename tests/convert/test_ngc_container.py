"""The NGC TensorFlow container table, the picker, the docker command and the missing-engine error."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from edgetrt.config.devices import load_profiles
from edgetrt.convert import ngc_container as ngc
from edgetrt.convert.tftrt import TftrtSettings
from edgetrt.errors import EdgetrtError, UsageError

RELEASES = ngc.load_releases()
PROFILES = load_profiles()


def test_every_row_has_a_source_and_says_what_it_does_not_confirm():
    assert len(RELEASES) >= 15
    for row in RELEASES:
        assert row.source.strip(), row.release
        assert row.evidence in ("release-notes", "secondary", "unverified"), row.release
        if row.evidence == "unverified":
            assert "tensorrt" in row.unverified_fields, row.release
        for name in ("tensorflow", "cuda", "cudnn", "python"):
            value = getattr(row, name)
            missing = value is None or (isinstance(value, dict) and not all(value.values()))
            if missing:
                assert name in row.unverified_fields, (row.release, name)
        ngc.parse_version(row.tensorrt)


def test_tags_follow_nvidia_naming_by_era():
    for row in RELEASES:
        yy_mm = tuple(int(p) for p in row.release.split("."))
        if yy_mm < (19, 11):
            assert row.tags == {"tf1": f"{row.release}-py3"}
        else:
            for flavour, tag in row.tags.items():
                assert re.fullmatch(rf"{re.escape(row.release)}-{flavour}-py3", tag)
        if yy_mm > (23, 3):
            assert "tf1" not in row.tags  # TF1 images stopped after 23.03


def test_seed_container_19_08_has_tensorrt_5_1_5():
    row = next(r for r in RELEASES if r.release == "19.08")
    assert row.tags["tf1"] == "19.08-py3" and row.tensorrt == "5.1.5"


def _closest(device: str, tf_major: int | None):
    """Independent reference: same major.minor, smallest patch distance, newest on ties."""
    want = ngc.parse_version(device)
    rows = [r for r in RELEASES if r.tag_for(tf_major) and ngc.parse_version(r.tensorrt)[:2] == want[:2]]
    return min(rows, key=lambda r: (tuple(abs(a - b) for a, b in zip(want[2:], ngc.parse_version(r.tensorrt)[2:])),
                                    not r.tensorrt_verified, [-int(p) for p in r.release.split(".")]))


@pytest.mark.parametrize("profile", ["nano", "xavier-nx", "orin-nano"])
def test_pick_matches_the_device_profiles_tensorrt(profile):
    device_trt = PROFILES[profile]["tensorrt"]
    choice = ngc.pick_container(device_trt, tf_major=2)
    expected = _closest(device_trt, 2)
    assert choice.tag == expected.tags["tf2"]
    assert choice.tensorrt.split(".")[:2] == device_trt.split(".")[:2]
    assert choice.image == f"nvcr.io/nvidia/tensorflow:{choice.tag}"
    assert ngc.X86_ENGINE_WARNING in choice.warnings
    if not expected.tensorrt_verified:
        assert any("not verified" in w for w in choice.warnings)


def test_profiles_under_test_are_the_ones_named_in_the_issue():
    assert [PROFILES[p]["tensorrt"][:3] for p in ("nano", "xavier-nx")] == ["8.2", "8.5"]
    assert PROFILES["orin-nano"]["tensorrt"].startswith("10.3")


def test_jetson_only_patch_gets_the_closest_container_and_is_not_exact():
    choice = ngc.pick_container("5.1.6")  # the seed's Jetson Nano (JetPack 4.2.x)
    assert (choice.tag, choice.tensorrt, choice.exact) == ("19.08-py3", "5.1.5", False)
    assert "no container in the table has TensorRT 5.1.6" in choice.note


@pytest.mark.parametrize("version", ["4.1.3", "99.0"])
def test_impossible_version_says_what_to_do_instead(version):
    choice = ngc.pick_container(version, tf_major=2)
    assert choice.tag is None and choice.image is None and not choice.exact
    assert f"has TensorRT {'.'.join(version.split('.')[:2])}" in choice.note
    assert "edgetrt deploy MODEL --device NAME --backend tensorrt" in choice.note
    assert ngc.X86_ENGINE_WARNING in choice.warnings
    with pytest.raises(UsageError, match="no NGC TensorFlow container"):
        ngc.plan_container_convert(choice, [], Path("."), Path("."), 1000, 1000)


def test_tf2_is_refused_before_the_split_and_unknown_device_is_said():
    assert ngc.pick_container("5.1.5", tf_major=2).tag is None
    assert "unknown" in ngc.pick_container(None).note
    with pytest.raises(UsageError, match="MAJOR.MINOR"):
        ngc.parse_version("eight")


def test_old_python_in_a_container_is_a_warning():
    row = next(r for r in RELEASES if r.python == "3.6")
    choice = ngc.pick_container(row.tensorrt, tf_major=None, releases=[row])
    assert any("ships Python 3.6, but edgetrt needs Python 3.8+" in w for w in choice.warnings)


def test_docker_command_is_exact_and_quotable(tmp_path):
    work = tmp_path / "my work"
    work.mkdir()
    src = tmp_path / "src"
    inner = ["convert", "mobilenet_v2", "--to", "tftrt", "--precision", "fp16"]
    command = ngc.docker_command("22.05-tf2-py3", work, src, 1000, 1001, inner)
    assert command == [
        "docker", "run", "--rm", "--gpus", "all", "-v", f"{work}:/work", "-w", "/work",
        "-v", f"{src}:/opt/edgetrt:ro", "-e", "PYTHONPATH=/opt/edgetrt:/work/.edgetrt-cache/pydeps",
        "-e", "HOME=/work", "-e", "EDGETRT_CACHE=/work/.edgetrt-cache", "-u", "1000:1001",
        "nvcr.io/nvidia/tensorflow:22.05-tf2-py3", "sh", "-c", ngc._INNER_SCRIPT, "edgetrt", *inner]
    assert shlex.split(ngc.command_line(command)) == command


def test_the_inner_script_passes_arguments_without_a_shell_seeing_them(tmp_path):
    """Run the container's inner script for real with sh, python standing in for the image's."""
    import subprocess
    import sys

    marker = tmp_path / "pwned"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # `python` inside the container; here it records its argv instead of running edgetrt.
    (bin_dir / "python").write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import sys, json; "
                                    f"print(json.dumps(sys.argv[1:]))' \"$@\"\n")
    (bin_dir / "python").chmod(0o755)
    hostile = ["convert", f"$(touch {marker})", "a b; touch x", "`id`"]
    proc = subprocess.run(["sh", "-c", ngc._INNER_SCRIPT, "edgetrt", *hostile], capture_output=True, text=True,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, timeout=60)
    assert not marker.exists()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("[")]
    assert json.loads(lines[-1]) == ["-m", "edgetrt", *hostile]


def test_inner_args_map_host_paths_into_the_mount(tmp_path):
    model = tmp_path / "models" / "frozen.pb"
    model.parent.mkdir()
    model.write_bytes(b"x")
    calib = tmp_path / "calib"
    calib.mkdir()
    settings = TftrtSettings("int8", min_segment_size=5, workspace_bytes=1 << 30, prebuild=True)
    args = ngc.inner_convert_args(str(model), tmp_path, tmp_path / "out", settings, weights="random",
                                  calibration_images=calib,
                                  options={"--input": ["input:0"], "--output": ["out:0"], "--alpha": None})
    assert args == ["convert", "/work/models/frozen.pb", "--to", "tftrt", "--precision", "int8",
                    "--min-segment-size", "5", "--weights", "random", "--out", "/work/out",
                    "--workspace", str(1 << 30), "--prebuild", "--calib-images", "/work/calib",
                    "--input", "input:0", "--output", "out:0"]
    with pytest.raises(UsageError, match="outside the directory mounted"):
        ngc.inner_convert_args("mobilenet_v2", tmp_path, Path("/elsewhere/out"), settings)


def test_named_tag_uses_the_table_when_it_can():
    known = ngc.named_container("22.05-tf2-py3")
    assert known.tensorrt == "8.2.5.1" and ngc.X86_ENGINE_WARNING in known.warnings
    unknown = ngc.named_container("25.01-tf2-py3")
    assert unknown.tensorrt is None and "no row" in unknown.note


def test_run_without_a_docker_engine_is_one_clear_error():
    if ngc.docker_engine_problem() is None:
        pytest.skip("a Docker engine answers here")
    image = "nvcr.io/nvidia/tensorflow:22.05-tf2-py3"
    with pytest.raises(EdgetrtError) as info:
        ngc.run_in_container(["docker", "run", "--rm", image], image)
    assert str(info.value).startswith(f"no Docker engine is running here: cannot start {image}")
    assert "--dry-run" in info.value.hint
