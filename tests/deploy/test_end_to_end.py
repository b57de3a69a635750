"""`edgetrt deploy mobilenet_v2` to a real sshd on loopback, through the real CLI, twice."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from deploy_cli import check_store, sha256_of

pytestmark = [pytest.mark.slow, pytest.mark.ssh]

# Named, not left to the profile's defaults: native TF and ONNX Runtime are what runs here.
MEASURE = ("--weights", "random", "--backend", "tf,onnxruntime", "--precision", "fp32",
           "--duration", "0.5", "--iterations", "5")


def assert_real_run(run: dict) -> None:
    assert run["status"] == "ok", run
    assert run["message"] == ""
    assert run["first_run_ms"] > 0
    steady = run["steady"]
    assert steady["iterations"] >= 5
    latency = steady["latency_ms"]
    assert 0 < latency["min"] <= latency["median"] <= latency["p99"] <= latency["max"]
    assert steady["fps"]["median"] > 0
    assert run["peak_memory_mb"] > 10


def test_deploy_mobilenet_v2_over_ssh_then_redeploy_sends_nothing(sshd, deployer, tmp_path):
    remote_root = tmp_path / "device" / "edgetrt root"  # a space, as a user's path may have
    first = deployer.run("mobilenet_v2", sshd, remote_root=remote_root, extra=MEASURE)
    assert first.ok, first.describe()
    report = first.report

    # The device part of the report comes from the remote agent's probe.
    device = report["device"]
    assert device["name"] == "loopback" and device["profile"] == "x86-gpu"
    assert device["address"] == sshd.address
    assert device["remote_root"] == str(remote_root)
    facts = device["probe"]["facts"]
    assert facts["python"]["value"]
    assert facts["mem_total_mb"]["value"] > 0
    assert facts["runtimes"]["value"]["onnxruntime"] is True
    assert facts["runtimes"]["value"]["tensorflow"] is True

    # Every byte the device holds came through the store, verified: presence means "hashes right".
    stored = {p.name: p for p in check_store(remote_root)}
    artifact_bytes = sum(a["bytes"] for a in report["artifacts"])
    for artifact in report["artifacts"]:
        assert artifact["sha256"] in stored
    transfer = report["transfer"]
    assert set(transfer) >= {"bytes_sent", "files_sent", "files_skipped", "seconds"}
    assert transfer["files_sent"] == len(stored) and transfer["files_skipped"] == 0
    assert transfer["bytes_sent"] == sum(p.stat().st_size for p in stored.values()) > artifact_bytes
    assert transfer["seconds"] > 0
    remote_dir = Path(transfer["remote_dir"])
    assert remote_dir.parent == remote_root / "artifacts"
    assert sha256_of(remote_dir / "model.onnx") in stored
    assert (remote_dir / "model.onnx").resolve().parent == remote_root / "store"

    # The agent that measured is the hash-named zipapp in the device store, not this source tree.
    agent = device["agent"]
    assert agent["sha256"] in stored
    assert agent["path"] == str(remote_root / "store" / agent["sha256"])
    assert "edgetrt_agent/main.py" in zipfile.ZipFile(agent["path"]).namelist()

    runs = {(r["backend"], r["precision"], r["batch"]): r for r in report["runs"]}
    assert set(runs) == {("tf", "fp32", 1), ("onnxruntime", "fp32", 1)}
    for run in runs.values():
        assert_real_run(run)
        assert run["agent"] == agent["sha256"]

    second = deployer.run("mobilenet_v2", sshd, remote_root=remote_root,
                          extra=MEASURE[:2] + ("--backend", "onnxruntime") + MEASURE[4:])
    assert second.ok, second.describe()
    again = second.report["transfer"]
    assert (again["bytes_sent"], again["files_sent"]) == (0, 0)
    # An ONNX Runtime-only deploy needs the agent, model.onnx and the manifest: all already there;
    # its artifact directory holds just those (the SavedModel stays in the store, unlinked).
    assert again["files_skipped"] == 3
    assert sorted(n for n in os.listdir(again["remote_dir"]) if not n.startswith(".")) == ["manifest.json", "model.onnx"]
    assert second.report["conversion"]["cached"] is True
    assert_real_run(second.report["runs"][0])
    assert {p.name for p in check_store(remote_root)} == set(stored)
    assert not list((remote_root / "tmp").iterdir())
    print(f"\nfirst deploy {first.seconds:.1f} s (report {report['seconds']:.1f} s), sent "
          f"{transfer['bytes_sent']} B in {transfer['seconds']:.2f} s; second {second.seconds:.1f} s "
          f"(report {second.report['seconds']:.1f} s), sent {again['bytes_sent']} B in "
          f"{again['seconds']:.3f} s")
