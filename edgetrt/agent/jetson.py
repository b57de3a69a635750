"""Jetson facts as data: modules by part number, SoCs and their GPUs, L4T releases and their stack.

The tables live in ``data/`` (jetson_modules.json, jetson_socs.json, l4t_releases.json) and are read
with pkgutil, so they load from inside the agent's zipapp. The agent's probe reads them on the
device and the host reads the very same files (device profiles, ``doctor``, engine checks): one
table per kind of fact. Every look-up returns "unknown" (strings) or None (rows) for what the
tables do not hold; none of them raises.
"""

import json
import pkgutil
import re

UNKNOWN = "unknown"
_FILES = {"modules": "data/jetson_modules.json", "socs": "data/jetson_socs.json",
          "releases": "data/l4t_releases.json"}
_cache = {}

# A module part number as the device tree writes it: p3448-0000 (board id, SKU), maybe a revision.
_PART = re.compile(r"\bp(\d{4})-(\d{4})")


def table(kind):
    """The parsed table ``kind`` ("modules", "socs", "releases"); cached. An unreadable table
    reads as empty rather than raising."""
    if kind not in _cache:
        try:
            data = pkgutil.get_data(__package__ or __name__, _FILES[kind])
            _cache[kind] = json.loads(data.decode("utf-8")) if data else {}
        except (IOError, OSError, ValueError, ImportError):
            _cache[kind] = {}
    return _cache[kind]


# ---- L4T releases ---------------------------------------------------------------------------

def normalise_l4t(value):
    """'R32.7.6' / '32.7.6' / '32.5' / ' 35.3.1\\n' -> '32.7.6' / '32.7.6' / '32.5.0' / '35.3.1'; None if not a release."""
    if value is None:
        return None
    match = re.match(r"^\s*[Rr]?(\d+)\.(\d+)(?:\.(\d+))?\s*$", str(value))
    if not match:
        return None
    return "{}.{}.{}".format(match.group(1), match.group(2), match.group(3) or "0")


def release_for_l4t(l4t):
    """The row for an L4T release: {'l4t', 'jetpack', 'tensorrt', 'cuda', 'cudnn', 'ubuntu',
    'python', 'confirmed'}; every field "unknown" (confirmed False) when the release is not listed."""
    key = normalise_l4t(l4t)
    row = table("releases").get("l4t", {}).get(key) if key else None
    result = {"l4t": key or UNKNOWN}
    for field in ("jetpack", "tensorrt", "cuda", "cudnn", "ubuntu", "python"):
        result[field] = (row or {}).get(field, UNKNOWN)
    result["confirmed"] = bool((row or {}).get("confirmed", False))
    return result


def jetpack_for_l4t(l4t):
    """'32.7.6' -> '4.6.6'; "unknown" for a release the table does not list."""
    return release_for_l4t(l4t)["jetpack"]


def releases_of_family(prefix):
    """Every listed release whose L4T starts with ``prefix`` ('32.7' -> 32.7.1 ... 32.7.6), in order."""
    if not prefix:
        return []
    rows = table("releases").get("l4t", {})
    keys = [k for k in rows if k == prefix or k.startswith(prefix + ".")]
    return [release_for_l4t(k) for k in sorted(keys, key=lambda v: [int(p) for p in v.split(".")])]


# ---- SoCs -----------------------------------------------------------------------------------

def soc_info(soc):
    """'tegra210' -> {'soc', 'compute_capability' (5.3), 'gpu_arch' (sm_53), 'family' (Maxwell),
    'fast_fp16', 'fast_int8', 'modules': [series names: 'Jetson Nano', 'Jetson TX1']}. An unknown SoC
    gives the same keys with "unknown" (None for the fast_* flags) and no modules."""
    row = table("socs").get("socs", {}).get(soc) if soc else None
    if not row:
        return {"soc": soc or UNKNOWN, "compute_capability": UNKNOWN, "gpu_arch": UNKNOWN,
                "family": UNKNOWN, "fast_fp16": None, "fast_int8": None, "modules": []}
    modules = []
    for row_ in table("modules").get("modules", {}).values():
        if row_.get("soc") == soc and row_.get("series") not in modules:
            modules.append(row_.get("series"))
    return {"soc": soc, "compute_capability": row["compute_capability"], "gpu_arch": row["gpu_arch"],
            "family": row["family"], "fast_fp16": row.get("fast_fp16"), "fast_int8": row.get("fast_int8"),
            "modules": modules}


def compute_capability(soc):
    """'tegra194' -> '7.2'; "unknown" otherwise."""
    return soc_info(soc)["compute_capability"]


def modules_with_compute_capability(cc):
    """Jetson series whose integrated GPU has this compute capability (5.3: Jetson Nano, Jetson TX1)."""
    names = []
    for soc, row in sorted(table("socs").get("socs", {}).items()):
        if row.get("compute_capability") == str(cc):
            names.extend(soc_info(soc)["modules"])
    return names


# ---- modules --------------------------------------------------------------------------------

def part_numbers(text):
    """Every module part number named in a device-tree string ('nvidia,p3449-0000-b00+p3448-0003-b00')."""
    return ["p{}-{}".format(a, b) for a, b in _PART.findall((text or "").replace("\x00", " "))]


def module_for_part_number(part):
    """'p3448-0003' -> {'part_number', 'module': 'Jetson Nano 2GB', 'series': 'Jetson Nano',
    'soc': 'tegra210', 'memory_mb': 2048};
    None for a part number the table does not list (a carrier board, an unknown module)."""
    row = table("modules").get("modules", {}).get(part)
    if not row:
        return None
    return {"part_number": part, "module": row["module"], "series": row.get("series"), "soc": row["soc"],
            "memory_mb": row.get("memory_mb")}


def module_for_parts(text):
    """The first listed module among the part numbers in ``text`` (carrier boards are skipped)."""
    for part in part_numbers(text):
        found = module_for_part_number(part)
        if found:
            return found
    return None


def module_for_model(model):
    """A device-tree model string -> {'module', 'soc'}; both "unknown" when no pattern matches.

    The fallback when no part number can be read. 'NVIDIA Jetson Nano Developer Kit' -> Jetson
    Nano / tegra210; 'NVIDIA Orin NX Developer Kit' -> Jetson Orin NX / tegra234 (the patterns are
    tried most specific first, so "orin nano" wins over "nano").
    """
    text = (model or "").replace("\x00", " ").strip().lower()
    if text:
        for pattern, module, soc in table("modules").get("model_patterns", {}).get("patterns", []):
            if pattern in text:
                return {"module": module, "soc": soc}
    return {"module": UNKNOWN, "soc": UNKNOWN}


def soc_for_compatible(compatible):
    """/proc/device-tree/compatible ('nvidia,p3449-0000-b00+p3448-0000-b00\\0nvidia,jetson-nano\\0nvidia,tegra210')
    -> 'tegra210' when it names a SoC the table knows; "unknown" otherwise."""
    socs = table("socs").get("socs", {})
    for entry in (compatible or "").replace("\x00", "\n").split():
        name = entry.split(",", 1)[-1].strip()
        if name in socs:
            return name
    return UNKNOWN


def soc_for_board(board):
    """BOARD of /etc/nv_tegra_release -> SoC. Only 't210ref' is unambiguous; t186ref (TX2, Xavier,
    Orin) and anything else give "unknown"."""
    return table("modules").get("boards", {}).get("map", {}).get((board or "").strip(), UNKNOWN)
