"""A device has one name, and a probe that contradicts its profile is said out loud."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from deploy_cli import REPO, tiny_onnx

QUICK = ("--backend", "onnxruntime", "--precision", "fp32", "--duration", "0.1", "--iterations", "2",
         "--warmup-ms", "0")


def test_a_device_file_whose_name_differs_from_its_file_is_one_clear_error(tmp_path):
    devices = tmp_path / "config" / "edgetrt" / "devices"
    devices.mkdir(parents=True)
    (devices / "fname.yaml").write_text("name: othername\nprofile: nano\nconnection:\n  host: 10.0.0.9\n")
    env = dict(os.environ, PYTHONPATH=str(REPO), XDG_CONFIG_HOME=str(tmp_path / "config"), HOME=str(tmp_path))
    for args in (("devices",), ("deploy", "mobilenet_v2", "--device", "fname"),
                 ("deploy", "mobilenet_v2", "--device", "othername")):
        proc = subprocess.run([sys.executable, "-m", "edgetrt", *args], capture_output=True, text=True, env=env,
                              cwd=REPO, timeout=120)
        assert proc.returncode == 2, (args, proc.stderr)
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
        if args[-1] != "othername":
            assert "fname.yaml" in errors[0] and "othername" in errors[0], errors[0]


@pytest.mark.ssh
def test_a_probe_that_contradicts_the_profile_is_a_warning_in_the_report_and_the_table(sshd, deployer, tmp_path):
    """This x86 machine under `profile: nano`: no L4T, 24 GB instead of 4: said, not silently used."""
    model = tiny_onnx(tmp_path / "tiny.onnx")
    deployer.device_file(sshd, profile="nano")
    argv = [sys.executable, "-m", "edgetrt", "deploy", str(model), "--device", "loopback", "--host", sshd.address,
            "--known-hosts", str(sshd.known_hosts), "--ssh-config", str(deployer.ssh_config(sshd.client_key)),
            "--remote-root", str(tmp_path / "root"), *QUICK]
    as_json = subprocess.run(argv + ["--json"], capture_output=True, text=True, env=deployer.env, timeout=600)
    assert as_json.returncode == 0, as_json.stderr[-2000:]
    warnings = json.loads(as_json.stdout)["warnings"]
    assert any("no L4T release" in w and "nano" in w for w in warnings), warnings
    assert any("MB of memory" in w for w in warnings), warnings
    table = subprocess.run(argv, capture_output=True, text=True, env=deployer.env, timeout=600)
    assert table.returncode == 0
    assert "no L4T release" in " ".join(table.stderr.split())
