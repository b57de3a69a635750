"""A real kernel OOM kill, as on a Jetson that runs out of its shared 4 GB: the seed's "Killed".

A memory cgroup (v1 or v2, when this machine lets root make one) caps the agent and everything it
starts; a batch that cannot fit makes the kernel's OOM killer SIGKILL the measuring child. The
agent survives, reads the kernel log, reports `oom`, and the next run still reports `ok`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "tests" / "data" / "mobilenet_2_5_128_tf.h5"
LIMIT = 300 * 1024 * 1024

pytestmark = pytest.mark.slow


def make_cgroup():
    name = f"edgetrt-test-{uuid.uuid4().hex[:8]}"
    v1 = Path("/sys/fs/cgroup/memory")
    v2 = Path("/sys/fs/cgroup/unified") if Path("/sys/fs/cgroup/unified/cgroup.controllers").exists() \
        else Path("/sys/fs/cgroup")
    try:
        if (v1 / "memory.limit_in_bytes").exists():
            group = v1 / name
            group.mkdir()
            (group / "memory.limit_in_bytes").write_text(str(LIMIT))
            return group
        if "memory" in (v2 / "cgroup.controllers").read_text().split():
            group = v2 / name
            group.mkdir()
            (group / "memory.max").write_text(str(LIMIT))
            (group / "memory.swap.max").write_text("0")
            return group
    except OSError as exc:
        pytest.skip(f"cannot make a memory cgroup here: {exc}")
    pytest.skip("no memory cgroup controller on this machine")


@pytest.fixture
def cgroup():
    group = make_cgroup()
    yield group
    try:
        group.rmdir()
    except OSError:
        pass


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    from edgetrt.convert.pipeline import convert
    from edgetrt.convert.sources import resolve_source
    from edgetrt.zoo.weights import WeightsChoice

    weights = str(WEIGHTS) if WEIGHTS.is_file() else "random"
    return convert(resolve_source("mobilenet_v1_0.25_128"), WeightsChoice.parse(weights), formats=("onnx",),
                   out_dir=tmp_path_factory.mktemp("oom") / "artifact").artifact


def test_the_kernel_oom_killer_is_reported_and_the_agent_goes_on(cgroup, artifact):
    job = {"artifact_dir": str(artifact.path), "runs": [
        {"backend": "onnxruntime", "batch": 1, "min_seconds": 0.2},
        {"backend": "onnxruntime", "batch": 2048, "min_seconds": 0.2},  # ~400 MB of input alone
        {"backend": "onnxruntime", "batch": 2, "min_seconds": 0.2},
    ]}
    enter = f'echo $$ > "{cgroup}/cgroup.procs" && exec "$0" -m edgetrt.agent run --job -'
    proc = subprocess.run(["sh", "-c", enter, sys.executable], input=json.dumps(job), capture_output=True,
                          text=True, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    small, huge, after = json.loads(proc.stdout.strip().splitlines()[-1])["runs"]
    assert small["status"] == "ok" and after["status"] == "ok"
    assert huge["status"] == "oom", huge
    assert "kernel OOM killer" in huge["message"] and huge["exit"]["returncode"] == -9
    # Capped near the limit (RSS also counts file pages the cgroup may have reclaimed); the batch's
    # input tensor alone (2048x128x128x3 float32) is 400 MB, with the model's activations on top.
    assert 0 < huge["peak_memory_mb"] * 1024 * 1024 <= LIMIT * 1.5
