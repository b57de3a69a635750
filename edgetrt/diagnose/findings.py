"""Findings: what went wrong, the evidence for it, and what to do, as plain values.

The codes are a public contract (the CLI prints them, scripts match on them); the guidance text
lives here, once, so the classifier only decides *which* findings apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENGINE_TRT_VERSION = "ENGINE_TRT_VERSION"
ENGINE_GPU_MISMATCH = "ENGINE_GPU_MISMATCH"
ENGINE_NOT_A_PLAN = "ENGINE_NOT_A_PLAN"
TRT_SM_UNSUPPORTED = "TRT_SM_UNSUPPORTED"
OOM_KILLED = "OOM_KILLED"
OOM_DEVICE_MEMORY = "OOM_DEVICE_MEMORY"
JETSON_TRT_TABLE = "JETSON_TRT_TABLE"
CUDA_ENV = "CUDA_ENV"
TFTRT_ENGINE_OP = "TFTRT_ENGINE_OP"
TRT_MULTIPLE_INSTALLS = "TRT_MULTIPLE_INSTALLS"

REBUILD_ON_DEVICE = "rebuild it on the device from the ONNX model: `edgetrt deploy MODEL --device NAME`"

# code -> (summary, fix). Ordered from the most to the least specific root cause: when a log
# shows several, the earlier one explains the later ones more often than the reverse.
GUIDANCE: dict[str, tuple[str, str]] = {
    ENGINE_NOT_A_PLAN: (
        "the file given to TensorRT is not a complete serialized engine",
        "check the path, that the engine was written and read in binary mode and copied whole "
        "(compare sizes), and that no tool put metadata in front of it; `edgetrt doctor engine FILE` "
        f"says what the file is; then {REBUILD_ON_DEVICE}",
    ),
    ENGINE_TRT_VERSION: (
        "the engine was serialized by a different TensorRT release than the one loading it",
        "an engine only loads in the exact TensorRT release that built it (8.6+ can opt in to "
        f"version-compatible engines that load on newer runtimes); {REBUILD_ON_DEVICE}",
    ),
    ENGINE_GPU_MISMATCH: (
        "the engine was built on a different GPU model (compute capability) than the one running it",
        "engines are specific to the GPU they were built on (hardware-compatible engines exist only for "
        f"Ampere and newer with TensorRT 8.6+, and not on JetPack); {REBUILD_ON_DEVICE}",
    ),
    TRT_SM_UNSUPPORTED: (
        "this TensorRT build has no kernels for the device's GPU architecture (SM)",
        "use a TensorRT build for this GPU: on a Jetson, the TensorRT of the JetPack installed on it, "
        "not a container or package made for another L4T release or for x86/SBSA",
    ),
    JETSON_TRT_TABLE: (
        "this TensorRT release does not know this Jetson module (its memory table has no entry)",
        "the module is newer than the TensorRT release: upgrade to the JetPack (L4T) release that supports "
        "this module and use its TensorRT",
    ),
    CUDA_ENV: (
        "CUDA, cuDNN or the GPU driver could not be initialised",
        "check that the driver/JetPack matches the CUDA and TensorRT build, that the user may use the GPU "
        "(Jetson: member of the 'video' group), that containers run with the NVIDIA runtime, and that "
        "libcudart/libnvinfer are found",
    ),
    OOM_DEVICE_MEMORY: (
        "a GPU (or, on Jetson, shared NvMap) memory allocation failed",
        "reduce batch size and builder workspace (e.g. trtexec --memPoolSize=workspace:256M), build FP16 or "
        "INT8, stop other GPU users; on a Jetson NvMap failures can come from fragmentation: reboot and retry",
    ),
    OOM_KILLED: (
        "the Linux OOM killer ended the process (out of host RAM, which a Jetson shares with its GPU)",
        "free memory (stop the desktop and other programs), add swap, build with a smaller workspace and "
        "FP16, or use the C++/trtexec path, which needs less RAM than Python",
    ),
    TFTRT_ENGINE_OP: (
        "TF-TRT could not build, load or run the TensorRT engine of a TRTEngineOp segment; TensorFlow "
        "runs that segment's native TensorFlow fallback (slow) or crashes",
        "an engine serialized elsewhere (an x86 NGC container, TF1 is_dynamic_op=False, TF2 "
        "converter.build()/--prebuild) never loads on another GPU or TensorRT: convert with "
        "is_dynamic_op=True (TF1) or without --prebuild (TF2) so the device builds its engines at the "
        "first inference, in a container whose TensorRT matches the device's "
        "(`edgetrt convert MODEL --to tftrt --container auto --device NAME --dry-run`); otherwise read "
        f"the TensorRT error logged just before it; or export to ONNX and {REBUILD_ON_DEVICE}",
    ),
    TRT_MULTIPLE_INSTALLS: (
        "more than one TensorRT is installed; the one in use is not the one expected",
        "compare `python3 -c 'import tensorrt; print(tensorrt.__version__)'`, `dpkg -l | grep nvinfer` and "
        "`ldd $(which trtexec) | grep nvinfer`; remove or isolate the extra install (on a Jetson keep the "
        "JetPack one)",
    ),
}

FINDING_CODES = tuple(GUIDANCE)


@dataclass(frozen=True)
class Finding:
    code: str
    summary: str
    fix: str
    evidence: tuple[str, ...] = ()
    versions: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "summary": self.summary,
            "fix": self.fix,
            "evidence": list(self.evidence),
            "versions": dict(self.versions),
        }


def make_finding(code: str, evidence: list[str], versions: dict, summary: str | None = None) -> Finding:
    """A finding with the standard guidance for ``code``; ``summary`` overrides when more is known."""
    default_summary, fix = GUIDANCE[code]
    return Finding(code=code, summary=summary or default_summary, fix=fix, evidence=tuple(evidence), versions=versions)
