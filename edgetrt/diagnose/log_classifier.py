"""Classify TensorRT / Jetson / TF-TRT error output into Findings, most likely cause first.

Rules are patterns for message *families* (TensorRT 3 "GIE" through 10, TF-TRT, the Linux OOM
killer, Jetson NvMap), written from real user logs; a log can match several. The order of
``GUIDANCE`` in findings.py ranks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edgetrt.diagnose.findings import (
    CUDA_ENV,
    ENGINE_GPU_MISMATCH,
    ENGINE_NOT_A_PLAN,
    ENGINE_TRT_VERSION,
    FINDING_CODES,
    JETSON_TRT_TABLE,
    OOM_DEVICE_MEMORY,
    OOM_KILLED,
    TFTRT_ENGINE_OP,
    TRT_MULTIPLE_INSTALLS,
    TRT_SM_UNSUPPORTED,
    Finding,
    make_finding,
)
from edgetrt.diagnose.log_facts import EXPECTING_LIBRARY, extract_versions

MAX_EVIDENCE_LINES = 3
MAX_EVIDENCE_CHARS = 300


@dataclass(frozen=True)
class LineRule:
    code: str
    patterns: tuple[re.Pattern, ...]


def _rule(code: str, *patterns: str) -> LineRule:
    return LineRule(code, tuple(re.compile(pattern, re.I) for pattern in patterns))


LINE_RULES: tuple[LineRule, ...] = (
    _rule(
        ENGINE_NOT_A_PLAN,
        r"magic ?tag does not match",
        r"magicTag(?:Read)?\s*==\s*\w*magic",
        r"header\.magicTag\s*==",
        r"empty memory buffer",
        r"expecting library version \S+ got 0\.0\.0\b",
    ),
    _rule(
        ENGINE_TRT_VERSION,
        r"engine plan file is not compatible with this version of (?:TensorRT|GIE)",
        r"expecting library version",
        r"version tag does not match",
        r"(?:safe|std)VersionRead\s*==",
        r"Serialized Engine Version:\s*\d+",
        r"Mismatch between allocated memory size and expected size of serialized engine",
        r"exported with a different version than",
    ),
    _rule(
        ENGINE_GPU_MISMATCH,
        r"generated on an incompatible device",
        r"expecting compute \d+\.\d+\W+got compute",
        r"across different models of devices",
    ),
    _rule(
        TRT_SM_UNSUPPORTED,
        r"Target GPU SM \d+ is not supported",
        r"checkCurrentSMEnabled",
        r"no kernel image is available for execution on the device",
    ),
    _rule(
        JETSON_TRT_TABLE,
        r"checkMemLimit",
        r"Unknown embedded device detected",
    ),
    _rule(
        CUDA_ENV,
        r"NvRmMemInit\w*\s+failed",
        r"CUDA initialization failure",
        r"CUDA driver version is insufficient",
        r"no CUDA-capable device is detected",
        r"cudaErrorInsufficientDriver|CUDA_ERROR_NO_DEVICE|cudaErrorNoDevice",
        r"Could not load dynamic library '?lib(?:cudart|cudnn|cublas|nvinfer)",
        r"lib(?:cudart|cudnn|cublas|nvinfer)\S*\.so\S*: cannot open shared object file",
        r"CUDNN_STATUS_NOT_INITIALIZED",
        r"failed call to cuInit",
    ),
    _rule(
        OOM_DEVICE_MEMORY,
        r"\bout of memory\b(?!:\s*kill)",
        r"FAILED_ALLOCATION",
        r"std::bad_alloc",
        r"NvMap\w*(?:Alloc|\s+(?:error|failed))",
        r"NVMAP_IOC_\w+ failed",
        r"Cuda Error in \S*allocate",
        r"GPU memory allocation failed",
        r"insufficient (?:workspace|memory)",
        r"OOM when allocating tensor|ResourceExhaustedError|CUDA_ERROR_OUT_OF_MEMORY|cudaErrorMemoryAllocation",
        r"ran out of memory trying to allocate",
    ),
    _rule(
        OOM_KILLED,
        r"^\s*(?:\[\d+\]\+?\s*)?Killed\b",
        r"\b(?:is|was|gets?|got|being)\s+killed\b",
        r"Out of memory: Kill(?:ed)? process",
        r"invoked oom-killer|\boom-kill\b|oom_reaper",
    ),
    _rule(
        TRT_MULTIPLE_INSTALLS,
        r"more than (?:1|one) (?:trt|tensorrt)\b",
        r"(?:two|multiple) (?:different )?(?:trt|tensorrt) (?:installs|installations|versions)",
        r"(?:trt|tensorrt) version in python is not (?:the )?same as",
        r"python\s*(?:和|and)\s*c(?:\+\+|#).{0,20}(?:不一致|differ|mismatch)",
        r"still (?:see|sees|shows?|get|getting|reports?) the old version",
    ),
)

TRTENGINEOP = re.compile(r"TRTEngineOp", re.I)
# TensorFlow names the failing node on the line after its error, so the error line itself
# may only say "TRT segment" or "TRT engine".
TFTRT_CONTEXT = re.compile(r"TRTEngineOp|TRT segment|TRT engine|tf2tensorrt", re.I)
TRTENGINEOP_FAILURE = re.compile(
    r"fail|error|could not|cannot|fallback|retrying with native segment|not be empty", re.I
)
CRASH = re.compile(r"Segmentation fault|core dumped|^\s*Aborted\b|Check failed:", re.I | re.M)


def strip_label_header(text: str) -> str:
    """Drop the leading '#' lines that fixture files use to label a case."""
    lines = text.splitlines()
    while lines and lines[0].lstrip().startswith("#"):
        lines.pop(0)
    return "\n".join(lines)


def classify_log(text: str) -> list[Finding]:
    """Findings for an error log, most likely root cause first; [] when nothing is recognised."""
    lines = text.splitlines()
    evidence_by_code: dict[str, list[str]] = {}
    for rule in LINE_RULES:
        for line in lines:
            if any(pattern.search(line) for pattern in rule.patterns):
                evidence_by_code.setdefault(rule.code, []).append(_clip(line))
    _drop_zero_version_as_mismatch(evidence_by_code)
    tftrt_evidence = _tftrt_evidence(text, lines)
    if tftrt_evidence:
        evidence_by_code[TFTRT_ENGINE_OP] = tftrt_evidence
    versions = extract_versions(text)
    install_conflict = _banner_disagrees_with_packages(versions)
    if install_conflict:
        evidence_by_code.setdefault(TRT_MULTIPLE_INSTALLS, []).append(install_conflict)
    return [
        make_finding(code, _dedupe(evidence_by_code[code])[:MAX_EVIDENCE_LINES], versions, _summary(code, versions))
        for code in FINDING_CODES
        if code in evidence_by_code
    ]


def _drop_zero_version_as_mismatch(evidence_by_code: dict[str, list[str]]) -> None:
    """'got 0.0.0' is no TensorRT release: the bytes were not a plan (e.g. written in text mode)."""
    version_lines = evidence_by_code.get(ENGINE_TRT_VERSION, [])
    remaining = [line for line in version_lines if not _engine_version_is_zero(line)]
    if version_lines and not remaining:
        del evidence_by_code[ENGINE_TRT_VERSION]


def _engine_version_is_zero(line: str) -> bool:
    match = EXPECTING_LIBRARY.search(line)
    return bool(match) and set(match.group(2).replace(".", "")) == {"0"}


def _tftrt_evidence(text: str, lines: list[str]) -> list[str]:
    op_lines = [line for line in lines if TRTENGINEOP.search(line)]
    if not op_lines:
        return []
    context_lines = [line for line in lines if TFTRT_CONTEXT.search(line)]
    failing = [line for line in context_lines if TRTENGINEOP_FAILURE.search(line)]
    if failing:
        return [_clip(line) for line in failing]
    crash = CRASH.search(text)
    if crash:
        crash_line = text[text.rfind("\n", 0, crash.start()) + 1 :].split("\n", 1)[0]
        return [_clip(op_lines[-1]), _clip(crash_line)]
    return []


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


def _summary(code: str, versions: dict) -> str | None:
    if code == ENGINE_TRT_VERSION:
        if "runtime_tensorrt" in versions and "engine_tensorrt" in versions:
            return (
                f"the engine was serialized by TensorRT {versions['engine_tensorrt']}, "
                f"the runtime loading it is TensorRT {versions['runtime_tensorrt']}"
            )
        if "engine_serialization_tag" in versions:
            engine = _tag_description(versions["engine_serialization_tag"], versions.get("engine_tensorrt_candidates"))
            runtime = _tag_description(
                versions["runtime_serialization_tag"], versions.get("runtime_tensorrt_candidates")
            )
            return f"the engine carries serialization tag {engine}, the runtime expects {runtime}"
    if code == ENGINE_GPU_MISMATCH and "compute_capability" in versions:
        capability = versions["compute_capability"]
        return (
            f"the engine was built for compute capability {capability['got']}, "
            f"the GPU running it has {capability['expected']}"
        )
    if code == TRT_SM_UNSUPPORTED and "device_compute_capability" in versions:
        return f"this TensorRT build has no kernels for compute capability {versions['device_compute_capability']}"
    return None


def _tag_description(tag: int, releases: list[str] | None) -> str:
    if not releases:
        return f"{tag} (release not in edgetrt's table)"
    return f"{tag} (TensorRT {' or '.join(releases)})"


def _clip(line: str) -> str:
    line = line.strip()
    return line if len(line) <= MAX_EVIDENCE_CHARS else line[: MAX_EVIDENCE_CHARS - 1] + "…"


def _dedupe(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))
