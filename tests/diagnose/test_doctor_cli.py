"""`edgetrt doctor` through typer's runner, on the real fixtures."""

import json
import os
import random
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
    assert report["tensorrt_version_source"] == "version bytes"
    assert report["serialization_tag_description"] == "205 (TensorRT 8.2: verified in an engine header)"
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


def test_advice_never_repeats_the_command_just_run():
    result = runner.invoke(app, ["doctor", "engine", str(NANO_ENGINE), "--device", "nano"])
    assert result.exit_code == 0, result.output
    fix = result.output[result.output.index("fix:"):]
    assert "doctor engine" not in fix and "--device NAME`" not in fix.split("; or rebuild")[0]
    assert "--device-tensorrt" in fix and "edgetrt doctor device nano --probe" in fix


def test_every_fact_says_how_it_was_obtained():
    result = runner.invoke(app, ["doctor", "engine", str(NANO_ENGINE)])
    assert "8.2.1.8 (exact: version bytes)" in result.output
    assert "205 (TensorRT 8.2: verified in an engine header)" in result.output


def test_a_tensorrt_rtx_engine_on_a_jetson_profile_exits_1():
    rtx = next((FIXTURES / "engines").glob("R01_*"))
    result = runner.invoke(app, ["doctor", "engine", str(rtx), "--device", "orin-nano"])
    assert result.exit_code == 1
    assert "TensorRT-RTX" in result.output and "never loads on a Jetson" in result.output
    assert "8.0 8.6 8.9 12.0 12.1 >12.0" in result.output


def test_an_unrecognised_layout_is_reported_not_called_corrupt(tmp_path):
    data = bytearray(next((FIXTURES / "engines").glob("A01_*")).read_bytes())
    data[0:4] = b"xtrt"
    future = tmp_path / "future.engine"
    future.write_bytes(bytes(data))
    result = runner.invoke(app, ["doctor", "engine", str(future)])
    assert result.exit_code == 0, result.output
    assert "unrecognised TensorRT layout: read so far" in result.output
    assert "truncated" not in result.output and "binary mode" not in result.output


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


def test_a_log_without_a_failure_has_no_finding_and_says_what_it_looked_for():
    healthy = next((FIXTURES / "logs").glob("*.txt")).read_text()
    result = runner.invoke(app, ["doctor", "log", "-"], input=healthy)
    assert result.exit_code == 0, result.output
    assert "no known failure in this log; looked for:" in result.output and "the Linux OOM killer" in result.output
    as_json = runner.invoke(app, ["doctor", "log", "-", "--json"], input=healthy)
    document = json.loads(as_json.output)
    assert document["findings"] == [] and len(document["looked_for"]) >= 10
    assert document["input"] == {"bytes": len(healthy.encode()), "read": "whole"}


@pytest.mark.parametrize("content", ["", "  \n\t\n"])
def test_empty_input_is_a_usage_error(tmp_path, content):
    empty = tmp_path / "empty.log"
    empty.write_text(content)
    for argv, stdin in ((["doctor", "log", str(empty)], None), (["doctor", "log", "-"], content)):
        result = runner.invoke(app, argv, input=stdin)
        assert isinstance(result.exception, UsageError) and "the log is empty" in str(result.exception)


@pytest.mark.parametrize("make", ["directory", "fifo", "engine", "random"])
def test_input_that_is_no_log_is_a_usage_error(tmp_path, make):
    target = tmp_path / "input"
    if make == "directory":
        target.mkdir()
    elif make == "fifo":
        os.mkfifo(target)  # reading it would block: it must be refused before opening
    elif make == "engine":
        target.write_bytes(NANO_ENGINE.read_bytes())
    else:
        target.write_bytes(bytes(random.Random(7).randrange(256) for _ in range(4096)) + b"\0")
    result = runner.invoke(app, ["doctor", "log", str(target)])
    assert isinstance(result.exception, UsageError), result.output
    if make == "engine":
        assert "doctor engine" in result.exception.hint


def test_a_huge_log_is_read_head_and_tail(tmp_path):
    huge = tmp_path / "verbose.log"
    with huge.open("w") as log:
        line = "[TRT] [V] Tactic: 0x0000000000000000 Time: 0.0123\n"
        log.write(line * (20 * (1 << 20) // len(line)))
        log.write("[TRT] [E] 2: [virtualMemoryBuffer.cpp::resizePhysical::145] Error Code 2: OutOfMemory\n")
    result = runner.invoke(app, ["doctor", "log", str(huge), "--json"])
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["findings"][0]["code"] == "OOM_DEVICE_MEMORY"
    assert document["input"]["read"] != "whole" and document["input"]["bytes"] > 16 << 20


def test_bad_input_through_the_real_entry_point_is_one_line_and_exit_2(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_text("")
    completed = subprocess.run([sys.executable, "-m", "edgetrt", "doctor", "log", str(empty)], cwd=REPO_ROOT,
                               capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert completed.returncode == 2
    assert completed.stderr.splitlines()[0] == f"error: {empty}: the log is empty"
    assert "Traceback" not in completed.stderr and completed.stdout == ""


@pytest.mark.parametrize("heavy", ["tensorflow", "onnx", "onnxruntime", "tensorrt"])
def test_doctor_imports_no_heavy_module(heavy):
    probe = f"import sys, edgetrt.cli.doctor; print({heavy!r} in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True,
                               env={"PYTHONPATH": str(REPO_ROOT)}, check=True)
    assert completed.stdout.strip() == "False"


@pytest.mark.parametrize("make", ["directory", "random", "empty", "cut"])
def test_bad_engine_files_through_the_real_entry_point_are_one_line_and_exit_1(tmp_path, make):
    target = tmp_path / "model.engine"
    if make == "directory":
        target.mkdir()
    elif make == "random":
        target.write_bytes(random.Random(3).randbytes(1 << 16))
    elif make == "empty":
        target.write_bytes(b"")
    else:
        target.write_bytes(NANO_ENGINE.read_bytes()[:100_000])
    completed = subprocess.run([sys.executable, "-m", "edgetrt", "doctor", "engine", str(target)], cwd=REPO_ROOT,
                               capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert completed.returncode == 1
    lines = completed.stderr.splitlines()
    assert lines[0].startswith(f"error: {target}: ") and "not a TensorRT engine" in lines[0]
    assert len(lines) <= 2 and (len(lines) == 1 or lines[1].startswith("hint: "))
    assert "Traceback" not in completed.stderr
