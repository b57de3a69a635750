"""Will this engine deserialize on that device? Answered from the engine header and device facts.

The rules are TensorRT's own: a plan loads only in the exact TensorRT release that serialized it
(all four version parts) and on a GPU of the compute capability it was built for. Two opt-in
build modes relax this from TensorRT 8.6 on, and neither can be seen in the header fields we
decode, so we mention them rather than assume them:
- version compatibility (BuilderFlag.VERSION_COMPATIBLE): runs on the same or a *newer* runtime,
  both at least 8.6; never on an older one;
- hardware compatibility (HardwareCompatibilityLevel.AMPERE_PLUS): Ampere and newer GPUs
  (compute capability 8.0+), not supported on JetPack.
"""

from __future__ import annotations

from edgetrt.diagnose.engine_header import EngineHeader

FIRST_COMPATIBILITY_RELEASE = (8, 6)
AMPERE_COMPUTE_CAPABILITY = (8, 0)


def engine_loads_on(header: EngineHeader, device_tensorrt: str | None, device_cc: str | None) -> dict:
    """``{"ok": True/False/None, "reasons": [...], "fix": str}``; None when a fact is unknown."""
    version_ok, version_reasons = _check_tensorrt_version(header.tensorrt_version, device_tensorrt)
    gpu_ok, gpu_reasons = _check_compute_capability(header, device_cc)
    verdicts = (version_ok, gpu_ok)
    if False in verdicts:
        ok: bool | None = False
    elif None in verdicts:
        ok = None
    else:
        ok = True
    return {"ok": ok, "reasons": version_reasons + gpu_reasons, "fix": _fix(ok)}


def _check_tensorrt_version(engine_version: str | None, device_version: str | None) -> tuple[bool | None, list[str]]:
    if engine_version is None:
        return None, ["the engine's TensorRT version could not be read from its header"]
    if device_version is None:
        return None, [f"engine needs TensorRT {engine_version}; the device's TensorRT version is unknown"]
    engine_parts = _parts(engine_version)
    device_parts = _parts(device_version)
    if engine_parts is None or device_parts is None:
        return None, [f"cannot compare TensorRT versions {engine_version!r} and {device_version!r}"]
    compared = min(len(engine_parts), len(device_parts))
    if engine_parts[:compared] != device_parts[:compared]:
        reasons = [
            f"engine was serialized by TensorRT {engine_version}, the device has TensorRT {device_version}; "
            "TensorRT only deserializes plans from the exact same release"
        ]
        reasons.extend(_version_compatible_note(engine_parts, device_parts))
        return False, reasons
    if compared < 4:
        return None, [
            f"engine needs TensorRT {engine_version} exactly; the device reports {device_version}, "
            "too few parts to be sure"
        ]
    return True, []


def _version_compatible_note(engine_parts: tuple[int, ...], device_parts: tuple[int, ...]) -> list[str]:
    engine_release, device_release = engine_parts[:2], device_parts[:2]
    if engine_release < FIRST_COMPATIBILITY_RELEASE or device_release < FIRST_COMPATIBILITY_RELEASE:
        return []
    if device_parts < engine_parts:
        return ["version-compatible engines (TensorRT 8.6+) never run on an older runtime than the builder"]
    return [
        "only if it was built with version compatibility (TensorRT 8.6+, BuilderFlag.VERSION_COMPATIBLE, "
        "a newer runtime, host code allowed) would it load; the header does not say"
    ]


def _check_compute_capability(header: EngineHeader, device_cc: str | None) -> tuple[bool | None, list[str]]:
    engine_cc = header.compute_capability
    if engine_cc is None:
        return None, ["the GPU the engine was built for could not be read from its header"]
    if device_cc is None:
        return None, [f"engine was built for compute capability {engine_cc}; the device's is unknown"]
    if _parts(engine_cc) == _parts(device_cc):
        return True, []
    reasons = [
        f"engine was built for compute capability {engine_cc}, the device's GPU is {device_cc}; "
        "engines are GPU-model specific"
    ]
    engine_parts, device_parts = _parts(engine_cc), _parts(device_cc)
    if (
        engine_parts
        and device_parts
        and engine_parts >= AMPERE_COMPUTE_CAPABILITY
        and device_parts >= AMPERE_COMPUTE_CAPABILITY
        and not header.integrated_gpu
        and _at_least(header.tensorrt_version, FIRST_COMPATIBILITY_RELEASE)
    ):
        reasons.append(
            "both GPUs are Ampere or newer: an engine built with hardware compatibility "
            "(TensorRT 8.6+, AMPERE_PLUS; not available on JetPack) would load; the header does not say"
        )
    return False, reasons


def _fix(ok: bool | None) -> str:
    if ok:
        return ""
    rebuild = (
        "rebuild the engine on the device from the ONNX model with the device's own TensorRT: "
        "`edgetrt deploy MODEL --device NAME`"
    )
    if ok is None:
        return f"check the device's TensorRT version and GPU (`edgetrt doctor engine FILE --device NAME`), or {rebuild}"
    return rebuild[0].upper() + rebuild[1:]


def _parts(version: str | None) -> tuple[int, ...] | None:
    if not version:
        return None
    try:
        return tuple(int(part) for part in version.strip().split("."))
    except ValueError:
        return None


def _at_least(version: str | None, release: tuple[int, int]) -> bool:
    parts = _parts(version)
    return parts is not None and parts[:2] >= release
