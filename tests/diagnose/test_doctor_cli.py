"""`edgetrt doctor` through typer's runner, on the real fixtures."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from edgetrt.cli.doctor import doctor_app
from edgetrt.errors import ModelFileError, UsageError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NANO_ENGINE = FIXTURES / "engines" / "A08_guorbit_trt8.2.1.8_JetsonNano.engine"
REPO_ROOT = Path(__file__).resolve().parents[2]

app = typer.Typer()
app.add_typer(doctor_app, name="doctor")
runner = CliRunner()


def test_engine_json_has_the_documented_shape():
    result = runner.invoke(app, ["doctor", "engine", str(NANO_ENGINE), "--json",
                                 "--device-tensorrt", "8.2.1.8", "--device-cc", "5.3"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["tensorrt_version"] == "8.2.1.8"
    assert report["compute_capability"] == "5.3"
    assert report["format"] == "trt8.2-ptrt"
    assert report["file"] == str(NANO_ENGINE)
    assert report["loads_on"]["ok"] is True


def test_engine_that_will_not_load_exits_1_and_says_why():
    result = runner.invoke(app, ["doctor", "engine", str(NANO_ENGINE), "--device-tensorrt", "8.2.1.8",
                                 "--device-cc", "7.2"])
    assert result.exit_code == 1
    assert "5.3" in result.output and "edgetrt deploy" in result.output


def test_not_an_engine_raises_the_user_error(tmp_path):
    bogus = tmp_path / "model.engine"
    bogus.write_bytes(b"hello")
    result = runner.invoke(app, ["doctor", "engine", str(bogus)])
    assert isinstance(result.exception, ModelFileError)
    assert "not a TensorRT engine" in str(result.exception)


def test_device_profile_supplies_the_facts():
    # The nano profile names TensorRT 8.2.1 (three parts): a Nano engine from 8.2.1.8 is "cannot tell".
    result = runner.invoke(app, ["doctor", "engine", str(NANO_ENGINE), "--device", "nano", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["loads_on"]["ok"] is None
    result = runner.invoke(app, ["doctor", "engine", str(NANO_ENGINE), "--device", "nanoo"])
    assert isinstance(result.exception, UsageError)


def test_log_from_stdin_as_json():
    text = (FIXTURES / "errors" / "B46_tensorrt_demos_335_XavierNX_expecting_7.2_got_5.3.txt").read_text()
    result = runner.invoke(app, ["doctor", "log", "-", "--json"], input=text)
    assert result.exit_code == 0, result.output
    findings = json.loads(result.output)["findings"]
    assert findings[0]["code"] == "ENGINE_GPU_MISMATCH"
    assert findings[0]["versions"]["compute_capability"] == {"expected": "7.2", "got": "5.3"}


def test_log_human_output_names_code_and_fix():
    log = FIXTURES / "errors" / "B64_jetson-inference_1508_checkMemLimit_XavierNX16GB_jp4.6.2_trt8.2.1.8.txt"
    result = runner.invoke(app, ["doctor", "log", str(log)])
    assert result.exit_code == 0
    assert "JETSON_TRT_TABLE" in result.output and "fix:" in result.output


def test_missing_log_file_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["doctor", "log", str(tmp_path / "absent.log")])
    assert isinstance(result.exception, UsageError)


@pytest.mark.parametrize("heavy", ["tensorflow", "onnx", "onnxruntime", "tensorrt"])
def test_doctor_imports_no_heavy_module(heavy):
    probe = f"import sys, edgetrt.cli.doctor; print({heavy!r} in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True,
                               env={"PYTHONPATH": str(REPO_ROOT)}, check=True)
    assert completed.stdout.strip() == "False"
