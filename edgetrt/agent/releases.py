"""Look-ups in jetson_releases.json: L4T release -> JetPack stack, and SoC/board/model -> GPU.

The table is data, read with pkgutil so it works from inside the agent's zipapp. Every look-up
returns "unknown" (strings) or None (rows) for what the table does not hold; none of them raises.
"""

import json
import pkgutil
import re

UNKNOWN = "unknown"
_TABLE_FILE = "jetson_releases.json"
_cache = {}


def load_table():
    """The parsed table (cached). An unreadable table reads as empty rather than raising."""
    if "table" not in _cache:
        try:
            data = pkgutil.get_data(__package__ or __name__, _TABLE_FILE)
            _cache["table"] = json.loads(data.decode("utf-8")) if data else {}
        except (IOError, OSError, ValueError, ImportError):
            _cache["table"] = {}
    return _cache["table"]


def normalise_l4t(value):
    """'R32.7.6' / '32.7.6' / '32.5' / ' 35.3.1\\n' -> '32.7.6' / '32.7.6' / '32.5.0' / '35.3.1'; None if not a release."""
    if value is None:
        return None
    match = re.match(r"^\s*[Rr]?(\d+)\.(\d+)(?:\.(\d+))?\s*$", str(value))
    if not match:
        return None
    return "{}.{}.{}".format(match.group(1), match.group(2), match.group(3) or "0")


def release_for_l4t(l4t):
    """The table row for an L4T release: {'l4t', 'jetpack', 'tensorrt', 'cuda', 'cudnn', 'ubuntu',
    'python', 'confirmed'}; every field "unknown" (confirmed False) when the release is not listed."""
    key = normalise_l4t(l4t)
    row = load_table().get("l4t", {}).get(key) if key else None
    result = {"l4t": key or UNKNOWN}
    for field in ("jetpack", "tensorrt", "cuda", "cudnn", "ubuntu", "python"):
        result[field] = (row or {}).get(field, UNKNOWN)
    result["confirmed"] = bool((row or {}).get("confirmed", False))
    return result


def jetpack_for_l4t(l4t):
    """'32.7.6' -> '4.6.6'; "unknown" for a release the table does not list."""
    return release_for_l4t(l4t)["jetpack"]


def soc_info(soc):
    """'tegra210' -> {'soc', 'compute_capability': '5.3', 'gpu_arch': 'sm_53', 'family': 'Maxwell', 'modules': [...]}.

    An unknown SoC gives the same keys with "unknown" and an empty module list.
    """
    row = load_table().get("socs", {}).get(soc) if soc else None
    if not row:
        return {"soc": soc or UNKNOWN, "compute_capability": UNKNOWN, "gpu_arch": UNKNOWN, "family": UNKNOWN,
                "modules": []}
    return {"soc": soc, "compute_capability": row["compute_capability"], "gpu_arch": row["gpu_arch"],
            "family": row["family"], "modules": list(row["modules"])}


def compute_capability(soc):
    """'tegra194' -> '7.2'; "unknown" otherwise."""
    return soc_info(soc)["compute_capability"]


def module_for_model(model):
    """A device-tree model string -> {'module', 'soc'}; both "unknown" when no pattern matches.

    'NVIDIA Jetson Nano Developer Kit' -> Jetson Nano / tegra210; 'NVIDIA Orin NX Developer Kit'
    -> Jetson Orin NX / tegra234 (the patterns are tried most specific first, so "orin nano"
    wins over "nano").
    """
    text = (model or "").replace("\x00", " ").strip().lower()
    if text:
        for pattern, module, soc in load_table().get("model_patterns", {}).get("patterns", []):
            if pattern in text:
                return {"module": module, "soc": soc}
    return {"module": UNKNOWN, "soc": UNKNOWN}


def soc_for_compatible(compatible):
    """/proc/device-tree/compatible ('nvidia,p3449-0000-b00+p3448-0000-b00\\0nvidia,jetson-nano\\0nvidia,tegra210')
    -> 'tegra210' when it names a SoC the table knows; "unknown" otherwise."""
    socs = load_table().get("socs", {})
    for entry in (compatible or "").replace("\x00", "\n").split():
        name = entry.split(",", 1)[-1].strip()
        if name in socs:
            return name
    return UNKNOWN


def soc_for_board(board):
    """BOARD of /etc/nv_tegra_release -> SoC. Only 't210ref' is unambiguous; t186ref (TX2, Xavier,
    Orin) and anything else give "unknown"."""
    return load_table().get("boards", {}).get("map", {}).get((board or "").strip(), UNKNOWN)
