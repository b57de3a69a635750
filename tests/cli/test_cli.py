"""The command line as a user meets it: real subprocesses, exit codes, one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def edgetrt(*args, env=None, timeout=600):
    full_env = dict(os.environ, **(env or {}))
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "edgetrt", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=REPO)


def assert_one_line_error(proc, *needles):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = [l for l in proc.stderr.strip().splitlines() if l.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_help_imports_no_heavy_module():
    code = ("import sys\nfrom edgetrt.cli.app import app\n"
            "from typer.testing import CliRunner\n"
            "r = CliRunner().invoke(app, ['--help'])\nassert r.exit_code == 0, r.output\n"
            "heavy = [m for m in ('tensorflow', 'onnxruntime', 'onnx', 'tf2onnx', 'tensorrt', "
            "'matplotlib', 'keras', 'paramiko', 'numpy') if m in sys.modules]\n"
            "print(','.join(heavy))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_python_dash_m_matches_the_script():
    proc = edgetrt("--help")
    assert proc.returncode == 0
    for cmd in ("models", "devices", "convert", "deploy", "doctor"):
        assert cmd in proc.stdout


def test_models_and_devices_json():
    models = json.loads(edgetrt("models", "--json").stdout)["models"]
    assert {"mobilenet_v2", "resnet_v2_152", "inception_v4"} <= {m["name"] for m in models}
    devices = json.loads(edgetrt("devices", "--json").stdout)["devices"]
    assert {"local", "nano"} <= {d["name"] for d in devices}


def test_unknown_model():
    assert_one_line_error(edgetrt("deploy", "mobilenet_v9", "--device", "local"), "unknown model 'mobilenet_v9'")


def test_unknown_device():
    assert_one_line_error(edgetrt("deploy", "mobilenet_v2", "--device", "jetson-x"), "unknown device 'jetson-x'")


def test_int8_on_a_nano_is_refused_before_any_work():
    proc = edgetrt("deploy", "mobilenet_v2", "--device", "nano", "--backend", "onnxruntime",
                   "--precision", "int8")
    assert_one_line_error(proc, "no fast INT8", "sm_53")


def test_malformed_recipe_yaml_names_file_and_line(tmp_path):
    (tmp_path / "broken.yaml").write_text("name: broken\nbuilder: MobileNet\n  input_size: 224\n")
    proc = edgetrt("convert", "broken", env={"EDGETRT_RECIPES": str(tmp_path)})
    assert_one_line_error(proc, f"{tmp_path / 'broken.yaml'}:3")


def test_json_errors_are_json(tmp_path):
    proc = edgetrt("deploy", "nope", "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["message"] == "unknown model 'nope'"


@pytest.mark.slow
def test_weights_not_hdf5_and_truncated_onnx(tmp_path):
    bad = tmp_path / "w.h5"
    bad.write_text("<html>404</html>")
    env = {"EDGETRT_CACHE": str(tmp_path / "cache")}
    assert_one_line_error(edgetrt("convert", "mobilenet_v1_0.25_128", "--weights", str(bad), env=env),
                          "not an HDF5 file")
    cut = tmp_path / "m.onnx"
    cut.write_bytes(b"\x08\x07\x12\x07tf2onnx\x1a\x05" + b"\x00" * 7)
    assert_one_line_error(edgetrt("convert", str(cut), env=env), "not a valid ONNX model")
    artifacts = tmp_path / "cache" / "artifacts"
    assert not artifacts.exists() or list(artifacts.iterdir()) == []


def test_doctor_engine_against_a_device_profile():
    engines = REPO / "tests" / "fixtures" / "engines"
    if not engines.is_dir():
        pytest.fail("tests/fixtures/engines missing")
    proc = edgetrt("doctor", "engine", str(engines / "A01_ybwerneck_model_trt8.6.1_x86_RTX4070.trt"),
                   "--device", "nano", "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["loads_on"]["ok"] is False
    assert any("5.3" in r for r in doc["loads_on"]["reasons"])
    same = edgetrt("doctor", "engine", str(engines / "A08_guorbit_trt8.2.1.8_JetsonNano.engine"),
                   "--device", "nano", "--device-tensorrt", "8.2.1.8", "--json")
    assert same.returncode == 0 and json.loads(same.stdout)["loads_on"]["ok"] is True


def test_a_full_host_disk_is_one_line(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {proc.stderr.decode().strip()}")
    try:
        import onnx
        from onnx import TensorProto, helper

        # A model too big for the 1 MB cache filesystem: copying it into the artifact fills the disk.
        weights = helper.make_tensor("w", TensorProto.FLOAT, [600, 600], [0.5] * 360000)
        graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 600])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 600])], [weights])
        model = tmp_path / "big.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(model))
        proc = edgetrt("convert", str(model), env={"EDGETRT_CACHE": str(mount / "cache")})
        assert_one_line_error(proc, "no space left")
        assert not list((mount / "cache" / "artifacts").iterdir())
    finally:
        subprocess.run(["umount", str(mount)], check=False)
