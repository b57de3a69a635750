"""Findings: what went wrong, the evidence for it, and what to do, as plain values.

The codes are a public contract (the CLI prints them, scripts match on them). What each failure
looks like, its rank (cause before effect) and the run status it implies live in the failure
table the agent ships (edgetrt/agent/data/failure_patterns.json); the guidance people read lives
here, once, so the classifier only decides *which* findings apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgetrt.agent.failure_patterns import load_failure_kinds

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
MODEL_FILE_UNREADABLE = "MODEL_FILE_UNREADABLE"
PLUGIN_MISSING = "PLUGIN_MISSING"
BUILD_NO_IMPLEMENTATION = "BUILD_NO_IMPLEMENTATION"

REBUILD_ON_DEVICE = "rebuild it on the device from the ONNX model: `edgetrt deploy MODEL --device NAME`"

# code -> (summary, fix); the order of findings is the failure table's.
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
        "a memory allocation failed: GPU memory, or on a Jetson the RAM it shares with the GPU (NvMap)",
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
        "the TensorRT loaded at run time is not the one expected: a second install, or a program built "
        "against another TensorRT release",
        "compare `python3 -c 'import tensorrt; print(tensorrt.__version__)'`, `dpkg -l | grep nvinfer` and "
        "`ldd $(which trtexec) | grep nvinfer`; remove or isolate the extra install (on a Jetson keep the "
        "JetPack one); a TensorFlow built against another TensorRT needs the TensorFlow build for this one",
    ),
    MODEL_FILE_UNREADABLE: (
        "the model file given to the builder was missing, empty or unreadable (an empty ONNX file reads "
        "as IR version 0.0.0), so what fails after it is a consequence",
        "check the path and the size of the model file and export it again; a bad_alloc or parser error "
        "that follows is not an out-of-memory",
    ),
    PLUGIN_MISSING: (
        "the engine uses a TensorRT plugin (a custom layer such as a YOLO or NMS plugin) that is not "
        "registered in the process loading it",
        "load the plugin library before deserializing (trtexec --plugins=libX.so, ctypes.CDLL in Python, "
        "DeepStream's custom-lib-path), built for this TensorRT and GPU; or rebuild the engine without it",
    ),
    BUILD_NO_IMPLEMENTATION: (
        "TensorRT found no kernel (tactic) it could use for a layer of the network",
        "most often every tactic needed more workspace or device memory than there was: raise the workspace "
        "(trtexec --memPoolSize=workspace:1024M) and free GPU memory; otherwise the named node's precision or "
        "Q/DQ placement is one this release cannot run: build that layer in FP32, or use a newer TensorRT",
    ),
}

# What each finding is, in a few words: a log with no finding says what was looked for.
FAILURE_NAMES: dict[str, str] = {
    TRT_MULTIPLE_INSTALLS: "a second TensorRT install",
    MODEL_FILE_UNREADABLE: "a missing or empty model file",
    ENGINE_NOT_A_PLAN: "a file that is not a whole engine",
    ENGINE_TRT_VERSION: "an engine from another TensorRT release",
    ENGINE_GPU_MISMATCH: "an engine from another GPU",
    TRT_SM_UNSUPPORTED: "a TensorRT without kernels for this GPU",
    JETSON_TRT_TABLE: "a TensorRT that does not know this Jetson",
    PLUGIN_MISSING: "a plugin that is not loaded",
    CUDA_ENV: "CUDA, cuDNN or driver set-up",
    OOM_DEVICE_MEMORY: "GPU or NvMap memory exhausted",
    OOM_KILLED: "the Linux OOM killer",
    BUILD_NO_IMPLEMENTATION: "a layer with no usable kernel",
    TFTRT_ENGINE_OP: "TF-TRT TRTEngineOp failures",
}

FAILURE_KINDS = load_failure_kinds()
# Rank order: the failure table's, cause before effect.
FINDING_CODES = tuple(kind.code for kind in FAILURE_KINDS)
EXPLAINS = {kind.code: kind.explains for kind in FAILURE_KINDS}


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
