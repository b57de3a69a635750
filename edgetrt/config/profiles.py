"""Device profiles (edgetrt/data/profiles.yaml) with their facts filled in from the Jetson tables.

A Jetson profile names a module part number and an L4T release family; its board name, memory,
compute capability and fast FP16/INT8 come from the module and SoC tables, and its expected
JetPack/TensorRT/CUDA/cuDNN/Python from the releases of that family (the parts every release of
the family shares: 32.7.1 … 32.7.6 all ship TensorRT 8.2.1.x, so the profile expects "8.2.1").
"""

from __future__ import annotations

from functools import lru_cache

from edgetrt.agent import jetson
from edgetrt.config import paths
from edgetrt.errors import InternalError

FACT_KEYS = ("board", "module", "part_number", "compute_capability", "memory_mb", "memory_shared_with_gpu",
             "fast_fp16", "fast_int8", "jetpack", "l4t", "tensorrt", "cuda", "cudnn", "python")
_STACK = ("jetpack", "tensorrt", "cuda", "cudnn", "python")


def _common_prefix(versions: list[str]) -> str | None:
    """'8.2.1', '8.2.1.8', '8.2.1.9' -> '8.2.1'; None when they share not even a major."""
    split = [v.split(".") for v in versions if v and v != jetson.UNKNOWN]
    if not split:
        return None
    common = []
    for parts in zip(*split):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return ".".join(common) or None


def _jetson_facts(name: str, entry: dict) -> dict:
    module = jetson.module_for_part_number(entry["module"])
    if module is None:
        raise InternalError(f"profile {name}: module {entry['module']} is not in jetson_modules.json")
    soc = jetson.soc_info(module["soc"])
    facts = {"board": module["module"], "module": module["module"], "part_number": module["part_number"],
             "compute_capability": soc["compute_capability"], "memory_mb": module["memory_mb"],
             "memory_shared_with_gpu": True, "fast_fp16": soc["fast_fp16"], "fast_int8": soc["fast_int8"],
             "l4t": entry["l4t"]}
    rows = jetson.releases_of_family(entry["l4t"])
    if not rows:
        raise InternalError(f"profile {name}: no L4T release {entry['l4t']}.x in l4t_releases.json")
    for key in _STACK:
        common = _common_prefix([r[key] for r in rows])
        values = [r[key] for r in rows]
        # A family that spans several JetPacks (32.7: 4.6.1 … 4.6.6) says so rather than pick one.
        facts[key] = f"{values[0]}–{values[-1]}" if key == "jetpack" and len(set(values)) > 1 else common
    return facts


@lru_cache(maxsize=1)
def load_profiles() -> dict[str, dict]:
    """{profile name: facts} with every key of FACT_KEYS (None where unknown until probed)."""
    from edgetrt.config.yamlfile import load_yaml

    raw = load_yaml(paths.DATA_DIR / "profiles.yaml").data
    profiles = {}
    for name, entry in raw.items():
        facts = dict.fromkeys(FACT_KEYS)
        if "module" in entry:
            facts.update(_jetson_facts(name, entry))
        else:
            facts.update(entry)
        profiles[name] = facts
    return profiles
