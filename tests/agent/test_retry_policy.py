"""The one build-retry policy (retry.py) and its bound: a run builds an engine at most twice.

The policy's pieces are checked alone, then the bound for real: the agent's ``run`` command with
real measuring children and the STAND-IN trtexec (real captured output; it counts the builds it
was asked for, and in some modes kills its parent, the measuring child, with SIGKILL the way the
kernel's OOM killer does), in every order of in-child OOM and killed child.
"""

import json
import sys

import pytest

from edgetrt.agent import main as agent_main
from edgetrt.agent.backends.tensorrt.retry import (MAX_BUILDS_PER_RUN, BuildFailed, build_with_retry,
                                                   planned_builds, spec_after_killed_build)

from .trtexec_standin import write_standin

W = 256 << 20


def test_a_run_plans_two_builds_and_a_retried_run_only_its_last():
    assert MAX_BUILDS_PER_RUN == 2
    assert planned_builds(W, {}) == [(1, W), (2, W // 2)]
    assert planned_builds(W, {"build_retry": {"attempt": 2, "workspace_bytes": W // 2}}) == [(2, W // 2)]
    assert planned_builds(1, {}) == [(1, 1)]  # nothing left to halve


def _builder(failures):
    calls = []

    def build_once(workspace):
        calls.append(workspace)
        kind = failures.pop(0) if failures else None
        if kind == "oom":
            raise BuildFailed("Error Code 2: OutOfMemory", out_of_memory=True)
        if kind == "error":
            raise BuildFailed("Error Code 4: Internal Error (network validation failed)")
        return "PLAN@{}".format(workspace)

    return build_once, calls


def test_out_of_memory_twice_stops_after_two_builds():
    build_once, calls = _builder(["oom", "oom", "oom"])
    phases = []
    with pytest.raises(BuildFailed, match="ran out of memory with workspace 268435456 and 134217728"):
        build_with_retry(build_once, W, {}, lambda name, **d: phases.append((name, d)))
    assert calls == [W, W // 2]
    assert phases == [("build", {"attempt": 1, "workspace_bytes": W}),
                      ("build", {"attempt": 2, "workspace_bytes": W // 2})]


def test_other_failures_are_not_retried_and_a_success_records_its_attempt():
    build_once, calls = _builder(["error"])
    with pytest.raises(BuildFailed, match="network validation failed"):
        build_with_retry(build_once, W, {}, lambda name, **d: None)
    assert calls == [W]
    build_once, calls = _builder(["oom"])
    plan, record = build_with_retry(build_once, W, {}, lambda name, **d: None)
    assert plan == "PLAN@{}".format(W // 2) and record["attempt"] == 2
    assert record["failed_attempts"][0]["out_of_memory"] and record["requested_workspace_bytes"] == W


def test_a_run_retried_after_a_kill_builds_once_more_at_most():
    retry = {"attempt": 2, "workspace_bytes": W // 2, "after": {"status": "killed", "workspace_bytes": W}}
    build_once, calls = _builder(["oom"])
    with pytest.raises(BuildFailed, match="the first build was killed"):
        build_with_retry(build_once, W, {"build_retry": retry}, lambda name, **d: None)
    assert calls == [W // 2]


def killed(phase, detail, status="killed", returncode=-9):
    return {"status": status, "exit": {"returncode": returncode, "phase": phase, "phase_detail": detail}}


def test_the_supervisor_retries_only_a_child_killed_in_its_first_build():
    spec = {"backend": "tensorrt", "options": {"workspace_bytes": W}}
    retry = spec_after_killed_build(spec, killed("build", {"attempt": 1, "workspace_bytes": W}))
    assert retry["options"]["build_retry"] == {"attempt": 2, "workspace_bytes": W // 2,
                                               "after": {"status": "killed", "workspace_bytes": W}}
    assert retry["options"]["workspace_bytes"] == W  # the cache key keeps the requested workspace
    assert spec_after_killed_build(spec, killed("build", {"attempt": 2, "workspace_bytes": W // 2})) is None
    assert spec_after_killed_build(spec, killed("steady", {})) is None
    assert spec_after_killed_build(spec, killed("build", {"attempt": 1, "workspace_bytes": W},
                                                returncode=0)) is None
    assert spec_after_killed_build(dict(spec, backend="onnxruntime"),
                                   killed("build", {"attempt": 1, "workspace_bytes": W})) is None
    assert spec_after_killed_build(spec, killed("build", {"attempt": 1, "workspace_bytes": W},
                                                status="oom")) is not None


# -- the bound, for real: agent run -> supervised children -> stand-in trtexec ------------------

@pytest.fixture
def artifact(tmp_path):
    directory = tmp_path / "artifact"
    directory.mkdir()
    (directory / "model.onnx").write_bytes(b"an onnx file")
    (directory / "manifest.json").write_text(json.dumps({
        "formats": {"onnx": "model.onnx"},
        "inputs": [{"name": "input", "shape": [-1, 8, 8, 3], "dtype": "float32"}],
        "outputs": [{"name": "output", "shape": [-1, 4], "dtype": "float32"}]}))
    return directory


def run_agent(tmp_path, capsys, artifact, mode, monkeypatch):
    standin = write_standin(tmp_path, sys.executable)
    monkeypatch.setenv("TRTEXEC_STANDIN_MODE", mode)
    spec = {"backend": "tensorrt", "precision": "fp16", "batch": 1, "warmup_ms": 1, "min_iterations": 1,
            "min_seconds": 0,
            "options": {"trtexec": str(standin), "tensorrt_path": "trtexec", "workspace_bytes": W,
                        "engine_cache_dir": str(tmp_path / "engines"), "tensorrt_version": "8.2.1.8",
                        "compute_capability": "5.3"}}
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"artifact_dir": str(artifact), "runs": [spec], "timeout_s": 60}))
    with pytest.raises(SystemExit) as info:
        agent_main.main(["run", "--job", str(job)])
    assert info.value.code == 0
    return json.loads(capsys.readouterr().out)["runs"][0], standin.builds()


def workspaces(builds):
    return [[a for a in argv if a.startswith("--workspace=")][0] for argv in builds]


def test_child_killed_in_build_1_is_run_once_more_and_builds_its_last(artifact, tmp_path, capsys,
                                                                      monkeypatch):
    run, builds = run_agent(tmp_path, capsys, artifact, "kill_parent_once", monkeypatch)
    assert run["status"] == "ok", run["message"]
    assert workspaces(builds) == ["--workspace=256", "--workspace=128"]
    assert run["retried_after"]["status"] == "killed"
    assert run["retried_after"]["exit"]["phase_detail"] == {"attempt": 1, "workspace_bytes": W}
    assert run["facts"]["build"]["attempt"] == 2 and run["facts"]["workspace_bytes"] == W // 2
    assert run["facts"]["build"]["after_killed_build"] == {"status": "killed", "workspace_bytes": W}


@pytest.mark.parametrize("mode,status", [("kill_parent_then_oom", "oom"), ("oom_then_kill_parent", "killed"),
                                         ("oom", "oom")])
def test_no_order_of_oom_and_kill_makes_a_third_build(artifact, tmp_path, capsys, monkeypatch, mode, status):
    run, builds = run_agent(tmp_path, capsys, artifact, mode, monkeypatch)
    assert run["status"] == status, run["message"]
    assert len(builds) == MAX_BUILDS_PER_RUN
    assert workspaces(builds) == ["--workspace=256", "--workspace=128"]
    if mode == "oom_then_kill_parent":
        assert "retried_after" not in run  # killed in build 2: the policy allows no more
        assert run["exit"]["phase"] == "build" and run["exit"]["phase_detail"]["attempt"] == 2
        assert "during build (attempt 2, workspace bytes 134217728)" in run["message"]
