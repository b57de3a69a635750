"""A real out-of-memory on the device, through `edgetrt deploy --memory-limit-mb`.

The limit is an address-space limit on each measuring child (RLIMIT_AS). Measured on this
project's machines (x86-64, 2 cores) with mobilenet_v2: TensorFlow cannot even map
libtensorflow_cc below about 800 MB, ONNX Runtime at batch 64 needs about 1.2 GB, and ONNX
Runtime at batch 1 runs in under 350 MB. 512 MB sits well inside both margins.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.ssh]

LIMIT_MB = 512


def test_runs_that_cannot_fit_report_oom_and_the_others_still_run(sshd, deployer, tmp_path):
    deploy = deployer.run(
        "mobilenet_v2", sshd, remote_root=tmp_path / "device" / ".edgetrt",
        extra=("--weights", "random", "--backend", "tf,onnxruntime", "--precision", "fp32", "--batch", "1,64",
               "--memory-limit-mb", str(LIMIT_MB), "--duration", "0.3", "--iterations", "3",
               "--timeout", "300"),
        timeout=1500)
    # The report is complete; the exit status says that not every run ended ok.
    assert deploy.reported and deploy.proc.returncode == 1, deploy.describe()
    report = deploy.report
    assert report["settings"]["memory_limit_mb"] == LIMIT_MB
    runs = {(r["backend"], r["batch"]): r for r in report["runs"]}
    assert set(runs) == {("tf", 1), ("tf", 64), ("onnxruntime", 1), ("onnxruntime", 64)}

    for key in [("tf", 1), ("tf", 64), ("onnxruntime", 64)]:
        run = runs[key]
        assert run["status"] in ("oom", "killed"), run
        assert run["message"].strip(), run
        assert run["steady"] is None
        assert run["exit"]["memory_limit_mb"] == LIMIT_MB
    # The run that fits is measured for real, by the same agent, after and between the failures.
    small = runs[("onnxruntime", 1)]
    assert small["status"] == "ok", small
    assert small["steady"]["latency_ms"]["median"] > 0
    assert small["exit"]["memory_limit_mb"] == LIMIT_MB
    print("\n" + "\n".join(f"{b} b{n}: {r['status']} {r['message'][:100]}" for (b, n), r in runs.items()))
