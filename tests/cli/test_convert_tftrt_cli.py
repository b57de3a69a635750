"""`edgetrt convert --to tftrt` as a user meets it here: real subprocesses, no TensorRT, no Docker engine."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from edgetrt.config.devices import load_profiles
from edgetrt.convert import ngc_container as ngc

REPO = Path(__file__).resolve().parents[2]


def edgetrt(*args, timeout=600):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "edgetrt", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=REPO)


def error_lines(proc):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0], [line for line in proc.stderr.splitlines() if line.startswith("hint:")]


def _has_tensorrt() -> bool:
    tf = pytest.importorskip("tensorflow")
    return bool(dict(tf.sysconfig.get_build_info()).get("is_tensorrt_build"))


def test_to_tftrt_here_fails_with_the_reason_and_the_ways_out(tmp_path):
    if _has_tensorrt():
        pytest.skip("this TensorFlow has TensorRT")
    import tensorflow as tf

    out = tmp_path / "artifact"
    proc = edgetrt("convert", "mobilenet_v2", "--to", "tftrt", "--weights", "random", "--out", str(out))
    error, hints = error_lines(proc)
    assert error == (f"error: this TensorFlow ({tf.__version__}) was built without TensorRT: "
                     "TF-TRT conversion is not possible here")
    assert len(hints) == 1
    assert "edgetrt deploy MODEL --device NAME --backend tensorrt" in hints[0]
    assert "--container auto" in hints[0]
    assert not out.exists()


def test_dry_run_prints_the_container_command_for_a_nano_without_tensorflow():
    """The whole dry run, in one process, must not import TensorFlow."""
    code = (
        "import sys\nfrom edgetrt.cli.app import main\n"
        "try:\n    main(['convert', 'mobilenet_v2', '--to', 'tftrt', '--container', 'auto', '--device', 'nano',"
        " '--dry-run', '--weights', 'random', '--json'])\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print('HEAVY=' + ','.join(m for m in ('tensorflow', 'keras', 'tf2onnx', 'onnx') if m in sys.modules),"
        " file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    heavy = [line for line in proc.stderr.splitlines() if line.startswith("HEAVY=")]
    assert heavy == ["HEAVY="], heavy
    doc = json.loads(proc.stdout)

    expected = ngc.pick_container(load_profiles()["nano"]["tensorrt"], tf_major=2)
    container = doc["container"]
    assert container["tag"] == expected.tag and container["tensorrt"].startswith("8.2.")
    assert container["image"] == f"nvcr.io/nvidia/tensorflow:{expected.tag}"
    assert ngc.X86_ENGINE_WARNING in container["warnings"]
    command = doc["command"]
    image_at = command.index(container["image"])
    assert command[:5] == ["docker", "run", "--rm", "--gpus", "all"]
    assert command[command.index("-v") + 1] == f"{REPO}:/work"
    assert f"{REPO}:/opt/edgetrt:ro" in command and "PYTHONPATH=/opt/edgetrt:/work/.edgetrt-cache/pydeps" in command
    assert command[command.index("-u") + 1] == f"{os.getuid()}:{os.getgid()}"
    assert command[image_at + 1:image_at + 3] == ["sh", "-c"] and command[image_at + 4] == "edgetrt"
    assert command[image_at + 5:] == ["convert", "mobilenet_v2", "--to", "tftrt",
                                      "--precision", "fp16", "--min-segment-size", "3", "--weights", "random",
                                      "--out", "/work/tftrt-artifacts/mobilenet_v2"]
    assert doc["command_line"] == shlex.join(command)


def test_dry_run_text_shows_the_warning_and_a_runnable_line():
    proc = edgetrt("convert", "mobilenet_v2", "--to", "tftrt", "--precision", "int8", "--prebuild",
                   "--container", "auto", "--device", "xavier-nx", "--dry-run", "--weights", "random")
    assert proc.returncode == 0, proc.stderr
    assert f"warning: {ngc.X86_ENGINE_WARNING}" in proc.stderr
    line = proc.stdout.strip().splitlines()[-1]
    argv = shlex.split(line)
    assert argv[0] == "docker" and "--prebuild" in argv
    assert argv[argv.index("--precision") + 1] == "int8"
    assert any(a.startswith("nvcr.io/nvidia/tensorflow:") and "8.5" in (ngc.named_container(a.split(":")[1]).tensorrt or "")
               for a in argv)


def test_container_auto_needs_a_device():
    error, _ = error_lines(edgetrt("convert", "mobilenet_v2", "--to", "tftrt", "--container", "auto", "--dry-run"))
    assert "add --device NAME" in error


def test_tftrt_flags_without_to_tftrt_are_refused():
    error, _ = error_lines(edgetrt("convert", "mobilenet_v2", "--precision", "int8"))
    assert "add --to tftrt" in error


def test_running_the_container_without_an_engine_is_one_clear_error():
    if ngc.docker_engine_problem() is None:
        pytest.skip("a Docker engine answers here")
    proc = edgetrt("convert", "mobilenet_v2", "--to", "tftrt", "--container", "22.05-tf2-py3", "--weights", "random")
    error, hints = error_lines(proc)
    assert error.startswith("error: no Docker engine is running here: cannot start "
                            "nvcr.io/nvidia/tensorflow:22.05-tf2-py3")
    assert hints and "--dry-run" in hints[0]
