"""`edgetrt bench --remote` on a loopback OpenSSH device gives the same cells as on the host."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from deploy_cli import DEVICE, REPO

WEIGHTS = REPO / "tests" / "data" / "mobilenet_2_5_128_tf.h5"
pytestmark = [pytest.mark.slow, pytest.mark.ssh]


def bench(deployer, *extra):
    argv = [sys.executable, "-m", "edgetrt", "bench", "mobilenet_v1_0.25_128", "--weights", str(WEIGHTS),
            "--backend", "tf,onnxruntime", "--precision", "fp32,int8", "--duration", "0.3", "--json", *extra]
    proc = subprocess.run(argv, capture_output=True, text=True, env=deployer.env, cwd=REPO, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def cells_of(record):
    return {(c["model"], c["backend"], c["precision"], c["batch"]): c for c in record["cells"]}


def test_remote_bench_matches_local_cells(sshd, deployer, tmp_path):
    deployer.device_file(sshd)
    (deployer.config_home / "edgetrt" / "config.yaml").write_text(f"default_device: {DEVICE}\n")
    ssh_config = deployer.ssh_config(sshd.client_key)
    remote = bench(deployer, "--remote", "--ssh-config", str(ssh_config), "--known-hosts", str(sshd.known_hosts),
                   "--remote-root", str(tmp_path / "device-root"))
    local = bench(deployer)

    assert remote["device"]["name"] == DEVICE and remote["device"]["address"].endswith(f":{sshd.port}")
    assert local["device"]["name"] == "local"
    remote_cells, local_cells = cells_of(remote), cells_of(local)
    assert set(remote_cells) == set(local_cells) == {
        ("mobilenet_v1_0.25_128", "tf", "fp32", 1), ("mobilenet_v1_0.25_128", "onnxruntime", "fp32", 1),
        ("mobilenet_v1_0.25_128", "onnxruntime", "int8", 1)}
    for key, cell in remote_cells.items():
        assert cell["status"] == local_cells[key]["status"] == "ok", (key, cell["message"])
        assert cell["steady"]["iterations"] >= 10
        if key[1] != "tf":
            # Same model, same photos, same runtime: the predictions agree exactly as on the host.
            assert cell["agreement"]["top1"] == local_cells[key]["agreement"]["top1"]
            assert [p["top5"][0][0] for p in cell["predictions"]] == \
                [p["top5"][0][0] for p in local_cells[key]["predictions"]]
    # The remote agent ran from the device root's store.
    assert (tmp_path / "device-root" / "store").is_dir()


def test_remote_without_a_configured_device_is_one_line(deployer):
    proc = subprocess.run([sys.executable, "-m", "edgetrt", "bench", "--remote"], capture_output=True, text=True,
                          env=deployer.env, cwd=REPO, timeout=120)
    assert proc.returncode == 2 and "--remote needs a device" in proc.stderr and "Traceback" not in proc.stderr
