"""The one retry policy for TensorRT engine builds, and its bound.

**A run builds an engine at most twice** (``MAX_BUILDS_PER_RUN``):

1. with the workspace the host asked for;
2. only when build 1 ran out of memory, once more with half that workspace. "Ran out of memory"
   means TensorRT said so (its log or exception on the Python path, trtexec's output), or the
   build was killed by SIGKILL (the kernel's OOM killer on a Jetson whose 4 GB are shared with
   the GPU): trtexec killed under the measuring child, or the measuring child itself killed.

Nothing else is retried and build 2 is never retried, whatever ends it. A cached engine that does
not deserialize is rebuilt, and that rebuild is build 1 of the run.

Where each case is handled:

- an out-of-memory failure the child sees (TensorRT's words; trtexec's words or its SIGKILL) is
  retried inside the child by ``build_with_retry``;
- a killed child cannot retry itself: the supervisor (``main.cmd_run``) asks
  ``spec_after_killed_build`` and, only when the child died during build 1, runs the spec once
  more with ``options["build_retry"]`` set; that child's ``build_with_retry`` then makes build 2
  only, so it cannot retry either.

The child reports where it is through the phase file as data, not text:
``{"phase": "build", "attempt": 1, "workspace_bytes": N}`` (see measure.PhaseFile), which is how
the supervisor knows which build a kill ended.
"""

from ..base import RuntimeReported

MAX_BUILDS_PER_RUN = 2


class BuildFailed(RuntimeReported):
    """An engine build failed; ``text`` is the builder's own words, ``out_of_memory`` whether
    they (or a SIGKILL) say it ran out of memory; ``errors`` the messages one by one, where the
    builder gave them."""

    errors = ()

    def __init__(self, message, text="", out_of_memory=False, output=""):
        RuntimeReported.__init__(self, message)
        self.text = text or message
        self.out_of_memory = bool(out_of_memory)
        #: the whole output of an external builder (trtexec), for the report
        self.output = output


def planned_builds(requested_workspace, options):
    """[(attempt number, workspace bytes)] this child may build with, in order."""
    retry = (options or {}).get("build_retry")
    if retry:
        return [(int(retry["attempt"]), int(retry["workspace_bytes"]))]
    builds = [(1, int(requested_workspace))]
    if requested_workspace >= 2:
        builds.append((2, int(requested_workspace) // 2))
    return builds


def build_with_retry(build_once, requested_workspace, options, report_phase):
    """Run ``build_once(workspace_bytes)`` under the policy; return ``(result, record)``.

    ``report_phase(name, **detail)`` is told each attempt before it starts. ``record`` says which
    attempt succeeded with which workspace and what the failed ones said. Raises BuildFailed
    (its text TensorRT's) when the policy allows no further build.
    """
    failures = []
    plan = planned_builds(requested_workspace, options)
    for index, (attempt, workspace) in enumerate(plan):
        report_phase("build", attempt=attempt, workspace_bytes=workspace)
        try:
            result = build_once(workspace)
        except BuildFailed as exc:
            failures.append({"attempt": attempt, "workspace_bytes": workspace,
                             "out_of_memory": exc.out_of_memory, "error": exc.text[-800:]})
            if exc.out_of_memory and index + 1 < len(plan):
                continue
            raise _final(exc, failures, options)
        record = {"attempt": attempt, "workspace_bytes": workspace,
                  "requested_workspace_bytes": int(requested_workspace)}
        if failures:
            record["failed_attempts"] = failures
        if (options or {}).get("build_retry"):
            record["after_killed_build"] = options["build_retry"].get("after")
        return result, record
    raise AssertionError("no build planned")  # planned_builds always plans one


def _final(exc, failures, options):
    if not exc.out_of_memory:
        return exc
    sizes = " and ".join(str(f["workspace_bytes"]) for f in failures)
    if (options or {}).get("build_retry"):
        sizes = "{} (the first build was killed)".format(sizes)
    error = BuildFailed("TensorRT engine build ran out of memory with workspace {} bytes: {}".format(
        sizes, str(exc)[-800:]), exc.text, True, exc.output)
    error.failures = failures
    error.errors = exc.errors
    return error


def spec_after_killed_build(spec, result):
    """The spec to run once more when a tensorrt child died during build 1, else None."""
    if spec.get("backend") != "tensorrt" or result.get("status") not in ("killed", "oom"):
        return None
    exit_info = result.get("exit") or {}
    returncode = exit_info.get("returncode")
    if returncode is None or returncode >= 0:
        return None  # the child wrote its own result: any retry already happened inside it
    detail = exit_info.get("phase_detail") or {}
    if exit_info.get("phase") != "build" or detail.get("attempt") != 1:
        return None  # killed elsewhere, or during build 2: the policy allows no more builds
    workspace = int(detail.get("workspace_bytes") or 0)
    if workspace < 2:
        return None
    options = dict(spec.get("options") or {})
    options["build_retry"] = {"attempt": 2, "workspace_bytes": workspace // 2,
                              "after": {"status": result.get("status"), "workspace_bytes": workspace}}
    retry = dict(spec)
    retry["options"] = options
    return retry
