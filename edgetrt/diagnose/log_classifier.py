"""Classify TensorRT / Jetson / TF-TRT error output into Findings, most likely cause first.

What each failure looks like is the failure table the agent ships
(edgetrt/agent/data/failure_patterns.json, read through edgetrt.agent.failure_patterns): several
independent patterns per finding, for how TensorRT 5 to 10, TensorRT-RTX, TF-TRT, ONNX Runtime's
TensorRT EP, DeepStream, Jetson's NvMap/NvRm and users themselves word the same failure. The same
table decides the agent's run statuses, so a log the doctor explains and a run the agent ends
agree. Findings come in the table's order, cause before effect (two TensorRT installs before the
version mismatch they cause). Two findings come from facts rather than single lines: a trtexec
banner that names another TensorRT than the installed packages, and a TensorFlow linked against
another TensorRT than it loaded.
"""

from __future__ import annotations

from edgetrt.agent.failure_patterns import matching_lines
from edgetrt.diagnose.findings import (
    ENGINE_GPU_MISMATCH,
    ENGINE_TRT_VERSION,
    FAILURE_KINDS,
    FAILURE_NAMES,
    FINDING_CODES,
    OOM_DEVICE_MEMORY,
    TRT_MULTIPLE_INSTALLS,
    TRT_SM_UNSUPPORTED,
    Finding,
    make_finding,
)
from edgetrt.diagnose.log_facts import extract_versions
from edgetrt.diagnose.release_tables import describe_serialization_tag

MAX_EVIDENCE_LINES = 3
MAX_EVIDENCE_CHARS = 300


def strip_label_header(text: str) -> str:
    """Drop the leading '#' lines that fixture files use to label a case."""
    lines = text.splitlines()
    while lines and lines[0].lstrip().startswith("#"):
        lines.pop(0)
    return "\n".join(lines)


def classify_log(text: str) -> list[Finding]:
    """Findings for an error log, most likely root cause first; [] when nothing is recognised."""
    evidence_by_code: dict[str, list[str]] = {}
    for kind in FAILURE_KINDS:
        lines = matching_lines(kind, text)
        if lines:
            evidence_by_code[kind.code] = [_clip(line) for line in lines]
    versions = extract_versions(text)
    for conflict in (_banner_disagrees_with_packages(versions), _linked_disagrees_with_loaded(versions)):
        if conflict:
            evidence_by_code.setdefault(TRT_MULTIPLE_INSTALLS, []).append(conflict)
    return [
        make_finding(code, _dedupe(evidence_by_code[code])[:MAX_EVIDENCE_LINES], versions, _summary(code, versions))
        for code in FINDING_CODES
        if code in evidence_by_code
    ]


def looked_for() -> list[dict]:
    """What the classifier recognises, in rank order: code and a few words each."""
    return [{"code": code, "failure": FAILURE_NAMES[code]} for code in FINDING_CODES]


def _banner_disagrees_with_packages(versions: dict) -> str | None:
    """trtexec's banner names the TensorRT in use; a package of another release means two installs."""
    banner = versions.get("tensorrt_banner")
    if not banner:
        return None
    in_use = banner.split(".")[:2]
    others = [package for package in versions.get("tensorrt_packages", []) if package.split(".")[:2] != in_use]
    if not others:
        return None
    return f"trtexec reports TensorRT {banner}, packages name TensorRT {', '.join(others)}"


def _linked_disagrees_with_loaded(versions: dict) -> str | None:
    """TF-TRT states the TensorRT it was built against and the one it found; another major.minor breaks it."""
    linked, loaded = versions.get("tensorrt_linked"), versions.get("tensorrt_loaded")
    if not linked or not loaded or linked.split(".")[:2] == loaded.split(".")[:2]:
        return None
    return f"TensorFlow was built against TensorRT {linked} and loaded TensorRT {loaded}"


def _summary(code: str, versions: dict) -> str | None:
    if code == ENGINE_TRT_VERSION:
        if "runtime_tensorrt" in versions and "engine_tensorrt" in versions:
            return (
                f"the engine was serialized by TensorRT {versions['engine_tensorrt']}, "
                f"the runtime loading it is TensorRT {versions['runtime_tensorrt']}"
            )
        if "engine_serialization_tag" in versions:
            engine = describe_serialization_tag(versions["engine_serialization_tag"])
            runtime = describe_serialization_tag(versions["runtime_serialization_tag"])
            return f"the engine carries serialization tag {engine}, the runtime expects {runtime}"
    if code == ENGINE_GPU_MISMATCH:
        if "compute_capability" in versions:
            capability = versions["compute_capability"]
            return (
                f"the engine was built for compute capability {capability['got']}, "
                f"the GPU running it has {capability['expected']}"
            )
        if "engine_compute_capabilities" in versions and "device_compute_capability" in versions:
            return (
                f"the engine targets compute capabilities {' '.join(versions['engine_compute_capabilities'])}, "
                f"the GPU running it has {versions['device_compute_capability']}"
            )
    if code == TRT_SM_UNSUPPORTED and "device_compute_capability" in versions:
        return f"this TensorRT build has no kernels for compute capability {versions['device_compute_capability']}"
    if code == OOM_DEVICE_MEMORY and "device_memory_requested_mb" in versions:
        return (
            f"the builder asked for {versions['device_memory_requested_mb']} MB of device memory with "
            f"{versions['device_memory_available_mb']} MB available"
        )
    return None


def _clip(line: str) -> str:
    line = line.strip()
    return line if len(line) <= MAX_EVIDENCE_CHARS else line[: MAX_EVIDENCE_CHARS - 1] + "…"


def _dedupe(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))
