"""`edgetrt doctor device`: host and device side by side, and what the differences mean for deploy."""

from __future__ import annotations

import importlib.util
import platform

from edgetrt.agent import jetson
from edgetrt.config.devices import DeviceSpec

_FACTS = (("l4t", "L4T"), ("jetpack", "JetPack"), ("tensorrt", "TensorRT"), ("cuda", "CUDA"),
          ("cudnn", "cuDNN"), ("compute_capability", "compute capability"), ("python", "Python"),
          ("tensorflow", "TensorFlow"))


def _version(dist: str) -> str | None:
    # importlib.metadata (~12 ms) only here: deploy imports this module for profile_contradictions
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def host_stack(check_tftrt: bool = True) -> dict:
    """What this host can convert with, from package metadata and TensorFlow's build file: nothing
    heavy is imported to show a version."""
    tf_version = _version("tensorflow") or _version("tensorflow-cpu")
    facts = {"python": platform.python_version(), "tensorflow": tf_version,
             "tf2onnx": _version("tf2onnx"), "onnxruntime": _version("onnxruntime"),
             "tensorrt": _version("tensorrt") if importlib.util.find_spec("tensorrt") else None,
             "cuda": None, "cudnn": None, "compute_capability": None, "tftrt": None}
    if check_tftrt and tf_version:
        try:
            from edgetrt.convert.tftrt import tftrt_from_build_file

            ok, reason = tftrt_from_build_file()
            facts["tftrt"] = {"available": ok, "reason": reason}
        except ImportError:
            facts["tftrt"] = None
    return facts


def release_rows(l4t_prefix: str | None) -> list[dict]:
    """Every known L4T release of the profile's family (e.g. 32.7 → 32.7.1 … 32.7.6)."""
    return jetson.releases_of_family(l4t_prefix)


def probe_value(probe: dict | None, key: str):
    """One fact's value from an agent probe (None when unknown)."""
    if not probe:
        return None
    facts = probe.get("facts", probe)
    value = facts.get(key)
    return value.get("value") if isinstance(value, dict) else value


def profile_contradictions(device: DeviceSpec, probe: dict | None) -> list[str]:
    """What a device's probe says against its profile, as warnings for the report: a Jetson profile
    on a machine with no L4T, another GPU (compute capability) or another TensorRT major, much
    less memory. Facts the probe could not read contradict nothing."""
    profile = device.facts
    if not probe:
        return []
    found = []
    jetson = bool(profile.get("l4t"))
    l4t = probe_value(probe, "l4t")
    if jetson and not l4t:
        found.append(f"{device.name}: its profile {device.profile!r} is a Jetson ({profile.get('board')}), but "
                     "the probe found no L4T release (/etc/nv_tegra_release, nvidia-l4t-core): is it one?")
    cc, expected_cc = probe_value(probe, "compute_capability"), profile.get("compute_capability")
    if cc and expected_cc and str(cc) != str(expected_cc):
        found.append(f"{device.name}: the probe found compute capability {cc}, its profile {device.profile!r} "
                     f"says {expected_cc}: engines are built for what the device has")
    trt, expected_trt = probe_value(probe, "tensorrt"), profile.get("tensorrt")
    if trt and expected_trt and str(trt).split(".")[0] != str(expected_trt).split(".")[0]:
        found.append(f"{device.name}: the probe found TensorRT {trt}, its profile {device.profile!r} expects "
                     f"{expected_trt}")
    memory, expected_memory = probe_value(probe, "mem_total_mb"), profile.get("memory_mb")
    if jetson and memory and expected_memory and abs(memory - expected_memory) > 0.5 * expected_memory:
        found.append(f"{device.name}: the probe found {memory:.0f} MB of memory, its profile {device.profile!r} "
                     f"says {expected_memory} MB")
    return found


def check_device(device: DeviceSpec, probe: dict | None = None, host: dict | None = None) -> dict:
    host = host if host is not None else host_stack()
    profile = device.facts
    rows = []
    for key, label in _FACTS:
        rows.append({"fact": label, "key": key, "host": host.get(key),
                     "device_expected": profile.get(key), "device_probed": probe_value(probe, key)})
    device_trt = probe_value(probe, "tensorrt") or profile.get("tensorrt")
    container = None
    implications = []
    if device_trt:
        try:
            from edgetrt.convert.ngc_container import pick_container

            choice = pick_container(device_trt, 2)
            container = choice.to_dict() if hasattr(choice, "to_dict") else dict(choice.__dict__)
        except ImportError:
            container = None
    cc = probe_value(probe, "compute_capability") or profile.get("compute_capability")
    if cc:
        implications.append(
            f"Engines for this device must be built on it (sm_{cc.replace('.', '')}, TensorRT {device_trt}): "
            "edgetrt ships ONNX and builds the engine there, then caches it.")
    if device.profile not in ("local", "x86-gpu"):
        implications.append("An engine built in an x86 container or on a desktop GPU never loads on a "
                            "Jetson: different GPU and a different TensorRT build.")
    if profile.get("fast_int8") is False:
        implications.append("No fast INT8 on this GPU: use FP16 (edgetrt refuses INT8 unless --force-int8).")
    tftrt = host.get("tftrt") or {}
    if tftrt and tftrt.get("available") is False:
        implications.append("This host's TensorFlow has no TF-TRT: use the ONNX → TensorRT path (default) "
                            "or `edgetrt convert MODEL --to tftrt --container auto --device "
                            f"{device.name}`.")
    mismatches = [r["fact"] for r in rows
                  if r["device_probed"] and r["device_expected"]
                  and not str(r["device_probed"]).startswith(str(r["device_expected"]).rstrip(".x"))]
    if mismatches:
        implications.append("The device differs from its profile in: " + ", ".join(mismatches)
                            + "; the probed values are what deploy uses.")
    return {"device": device.name, "profile": device.profile, "board": profile.get("board"),
            "rows": rows, "releases": release_rows(profile.get("l4t")), "container": container,
            "implications": implications, "probed": probe is not None}
