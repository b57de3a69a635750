"""Will this engine deserialize on that device? Answered from the engine header and device facts.

The rules are TensorRT's own: a plan loads only in the exact TensorRT release that serialized it
(all four version parts) and on a GPU of the compute capability it was built for. Two opt-in
build modes relax this from TensorRT 8.6 on, and neither can be seen in the header fields we
decode, so we mention them rather than assume them:
- version compatibility (BuilderFlag.VERSION_COMPATIBLE): runs on the same or a *newer* runtime,
  both at least 8.6; never on an older one;
- hardware compatibility (HardwareCompatibilityLevel.AMPERE_PLUS): Ampere and newer GPUs
  (compute capability 8.0+), not supported on JetPack.
TensorRT-RTX engines load only in TensorRT-RTX, on the compute capabilities they target, and
never on a Jetson: no TensorRT-RTX build exists for Jetson (L4T).

When a fact is missing the advice names the step that supplies it, never the command just run.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgetrt.diagnose.engine_header import EngineHeader
from edgetrt.diagnose.release_tables import TENSORRT_RTX, describe_serialization_tag

FIRST_COMPATIBILITY_RELEASE = (8, 6)
AMPERE_COMPUTE_CAPABILITY = (8, 0)
REBUILD = ("rebuild the engine on the device from the ONNX model with the device's own TensorRT: "
           "`edgetrt deploy MODEL --device NAME`")
DPKG = "`dpkg -l | grep nvinfer` on the board"


@dataclass(frozen=True)
class DeviceFacts:
    """What is known of the device: its TensorRT, its GPU, and the profile they came from."""

    tensorrt: str | None
    compute_capability: str | None
    name: str | None
    is_jetson: bool | None


def engine_loads_on(header: EngineHeader, device_tensorrt: str | None, device_cc: str | None,
                    device_name: str | None = None, device_is_jetson: bool | None = None) -> dict:
    """``{"ok": True/False/None, "reasons": [...], "fix": str}``; None when a fact is unknown.

    ``device_name`` is the profile the facts came from (it shapes the advice); ``device_is_jetson``
    decides TensorRT-RTX engines at once.
    """
    device = DeviceFacts(device_tensorrt, device_cc, device_name, device_is_jetson)
    if header.product == TENSORRT_RTX:
        checks = [_check_rtx_runtime(header, device), _check_rtx_targets(header, device)]
    else:
        checks = [_check_tensorrt_version(header, device), _check_compute_capability(header, device)]
    verdicts = [verdict for verdict, _, _ in checks]
    ok: bool | None = False if False in verdicts else (None if None in verdicts else True)
    reasons = [reason for _, check_reasons, _ in checks for reason in check_reasons]
    if header.wrapper:
        reasons.append("as saved, the file starts with Ultralytics metadata: Ultralytics strips it and loads the plan; "
                       "TensorRT itself (trtexec, deserializeCudaEngine, DeepStream) reports a magic tag mismatch")
    steps = list(dict.fromkeys(step for _, _, check_steps in checks for step in check_steps))
    return {"ok": ok, "reasons": reasons, "fix": _fix(ok, steps)}


def _check_tensorrt_version(header: EngineHeader, device: DeviceFacts):
    engine_version = header.tensorrt_version
    if engine_version is None and header.serialization_tag_releases:
        return _check_release_candidates(header, device)
    if engine_version is None:
        return None, ["the engine's TensorRT version could not be read from its header"], []
    if device.tensorrt is None:
        return None, [f"engine needs TensorRT {engine_version}; the device's TensorRT version is unknown"], [
            _tensorrt_step(device)]
    engine_parts, device_parts = _parts(engine_version), _parts(device.tensorrt)
    if engine_parts is None or device_parts is None:
        return None, [f"cannot compare TensorRT versions {engine_version!r} and {device.tensorrt!r}"], [
            _tensorrt_step(device)]
    compared = min(len(engine_parts), len(device_parts))
    if engine_parts[:compared] != device_parts[:compared]:
        reasons = [
            f"engine was serialized by TensorRT {engine_version}, the device has TensorRT {device.tensorrt}; "
            "TensorRT only deserializes plans from the exact same release"
        ]
        reasons.extend(_version_compatible_note(engine_parts, device_parts))
        return False, reasons, []
    if compared < 4:
        return None, [
            f"engine needs TensorRT {engine_version} exactly; the device reports {device.tensorrt}, "
            "too few parts to be sure"
        ], [_full_version_step(device)]
    return True, [], []


def _check_release_candidates(header: EngineHeader, device: DeviceFacts):
    """No version bytes, only the tag: the releases known to write it bound the answer."""
    tag = describe_serialization_tag(header.serialization_tag, header.serialization_tag_field, header.product)
    if device.tensorrt is None:
        return None, [f"engine carries serialization tag {tag}; the device's TensorRT version is unknown"], [
            _tensorrt_step(device)]
    device_parts = _parts(device.tensorrt) or ()
    fits = [release for release in header.serialization_tag_releases
            if device_parts[: len(release.split("."))] == _parts(release)]
    if not fits:
        return False, [f"engine carries serialization tag {tag}; the device has TensorRT {device.tensorrt}"], []
    return None, [f"engine carries serialization tag {tag}; the device's TensorRT {device.tensorrt} is one of those "
                  "releases, and the header does not give the exact build"], []


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


def _check_compute_capability(header: EngineHeader, device: DeviceFacts):
    engine_cc, device_cc = header.compute_capability, device.compute_capability
    if engine_cc is None:
        return None, ["the GPU the engine was built for could not be read from its header"], []
    if device_cc is None:
        # With nothing known of the device, the TensorRT step already asks for both facts.
        steps = ["pass the device's GPU with --device-cc (e.g. 5.3 for a Jetson Nano)"] if (
            device.tensorrt or device.name) else [_tensorrt_step(device)]
        return None, [f"engine was built for compute capability {engine_cc}; the device's is unknown"], steps
    if _parts(engine_cc) == _parts(device_cc):
        return True, [], []
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
    return False, reasons, []


def _check_rtx_runtime(header: EngineHeader, device: DeviceFacts):
    if device.is_jetson:
        return False, [f"a TensorRT-RTX {header.tensorrt_version} engine never loads on a Jetson: there is no "
                       "TensorRT-RTX build for Jetson (L4T)"], []
    if device.tensorrt is not None:
        return False, [f"a TensorRT-RTX {header.tensorrt_version} engine loads only in TensorRT-RTX "
                       f"{header.tensorrt_version}, not in the device's TensorRT {device.tensorrt}"], []
    return None, [f"a TensorRT-RTX engine loads only in TensorRT-RTX {header.tensorrt_version} "
                  "(never on a Jetson); what the device runs is unknown"], [_tensorrt_step(device)]


def _check_rtx_targets(header: EngineHeader, device: DeviceFacts):
    targets = header.target_compute_capabilities
    if not targets:
        return None, ["the compute capabilities the engine targets could not be read from its header"], []
    if device.compute_capability is None:
        return None, [f"engine targets compute capabilities {' '.join(targets)}; the device's is unknown"], []
    if device.compute_capability in targets:
        return True, [], []
    return False, [f"engine targets compute capabilities {' '.join(targets)}, the device's GPU is "
                   f"{device.compute_capability}"], []


def _tensorrt_step(device: DeviceFacts) -> str:
    if device.name:
        return (f"the {device.name} profile names no TensorRT version: pass it with --device-tensorrt (from {DPKG}), "
                f"or read it from the board with `edgetrt doctor device {device.name} --probe`")
    return "name the device (--device NAME) or pass its facts (--device-tensorrt X.Y.Z.W --device-cc X.Y)"


def _full_version_step(device: DeviceFacts) -> str:
    step = f"pass the device's full TensorRT version with --device-tensorrt (four parts, from {DPKG})"
    if device.name:
        step += f", or read it from the board with `edgetrt doctor device {device.name} --probe`"
    return step


def _fix(ok: bool | None, steps: list[str]) -> str:
    if ok:
        return ""
    if ok is False:
        return REBUILD[0].upper() + REBUILD[1:]
    if steps:
        return "; ".join(steps) + f"; or {REBUILD}"
    return REBUILD[0].upper() + REBUILD[1:]


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
