"""Exit statuses scripts can rely on (README, `edgetrt --help`): 0 every run ok; 1 a run did not end
ok (the report is printed in full); 2 usage or configuration; 3 a device unreachable or refusing;
and errors as one `error:` line, global flags anywhere on the line, `--version`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests" / "device"), str(REPO / "tests" / "deploy")]
from deploy_cli import tiny_onnx  # noqa: E402


@pytest.fixture
def env(tmp_path):
    return dict(os.environ, PYTHONPATH=str(REPO), EDGETRT_CACHE=str(tmp_path / "cache"), HOME=str(tmp_path),
                XDG_CONFIG_HOME=str(tmp_path / "config"), COLUMNS="80")


def edgetrt(env, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "edgetrt", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=timeout)


def one_error(proc) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    assert "╭" not in proc.stderr and "│" not in proc.stderr  # no boxed panel
    return lines[0]


def test_version_and_help_name_the_exit_statuses(env):
    from edgetrt import __version__

    proc = edgetrt(env, "--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"edgetrt {__version__}"
    helptext = edgetrt(env, "--help").stdout
    assert "Exit status: 0 every run ok" in " ".join(helptext.split())


def test_usage_errors_exit_2_in_one_line(env):
    for args in (("deploy", "--nosuch-flag"), ("deploy",), ("nosuchcommand",), ("deploy", "resnet_v1_5")):
        proc = edgetrt(env, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        one_error(proc)


def test_global_flags_work_after_the_subcommand(env):
    proc = edgetrt(env, "models", "--json", "--debug", "--verbose")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["models"]
    broken = edgetrt(env, "deploy", "no_such_model", "--debug")
    assert broken.returncode != 0 and "Traceback" in broken.stderr  # --debug shows it, wherever it stands


def test_an_unreachable_device_exits_3(env, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    model = tiny_onnx(tmp_path / "tiny.onnx")
    devices = tmp_path / "config" / "edgetrt" / "devices"
    devices.mkdir(parents=True)
    (devices / "gone.yaml").write_text(f"name: gone\nprofile: nano\nconnection:\n  host: 127.0.0.1\n  port: {port}\n")
    proc = edgetrt(env, "deploy", str(model), "--device", "gone", "--backend", "onnxruntime", "--precision", "fp32")
    assert proc.returncode == 3, proc.stderr
    assert "127.0.0.1" in one_error(proc)
    assert not (tmp_path / "cache" / "artifacts").exists()  # refused before anything was converted


@pytest.mark.slow
def test_a_run_that_times_out_exits_1_with_the_report_printed(env, tmp_path):
    model = tiny_onnx(tmp_path / "tiny.onnx")
    args = ("deploy", str(model), "--device", "local", "--backend", "onnxruntime", "--precision", "fp32",
            "--timeout", "0.5", "--duration", "5")
    table = edgetrt(env, *args)
    assert table.returncode == 1, table.stderr[-2000:]
    assert "timeout" in table.stdout and "onnxruntime fp32 b1" in table.stdout
    as_json = edgetrt(env, *args, "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["runs"][0]["status"] == "timeout"
    ok = edgetrt(env, "deploy", str(model), "--device", "local", "--backend", "onnxruntime", "--precision", "fp32",
                 "--duration", "0.1", "--iterations", "2", "--warmup-ms", "0")
    assert ok.returncode == 0, ok.stderr[-2000:]
