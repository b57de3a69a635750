"""The device facts a report's header shows: board, JetPack, L4T, TensorRT, CUDA, cuDNN, power
mode, compute capability, memory.

Each fact comes from the agent's probe of the device (``device.probe.facts[name] = {"value",
"source"}``) when the probe found it, else from the device's profile (``device.profile_facts``,
what that kind of board is expected to run), and says which. A profile value stands in for a
fact, it was not read on the device: the header marks it so, and says when the probe looked and
found nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgetrt.bench.text import number, one_line

# (label, probe fact names in order of preference, profile fact names in order of preference)
FACTS = (
    ("Board", ("module", "model", "board"), ("module", "board")),
    ("JetPack", ("jetpack",), ("jetpack",)),
    ("L4T", ("l4t",), ("l4t",)),
    ("TensorRT", ("tensorrt",), ("tensorrt",)),
    ("CUDA", ("cuda",), ("cuda",)),
    ("cuDNN", ("cudnn",), ("cudnn",)),
    ("Power mode", ("power_mode",), ("power_mode",)),
    ("Compute capability", ("compute_capability",), ("compute_capability",)),
    ("Memory", ("mem_total_mb",), ("memory_mb",)),
)
UNKNOWN = "unknown"


@dataclass(frozen=True)
class DeviceFact:
    label: str
    value: str | None       # None: neither the probe nor the profile knows it
    origin: str | None      # "probe" | "profile" | None
    source: str | None      # the file or table the probe read; the profile's name

    def text(self) -> str:
        """'8.2.1.9 (probe)', '8.2.1 (profile, not probed)', 'unknown'."""
        if self.value is None:
            return UNKNOWN
        if self.origin == "probe":
            return f"{self.value} (probe)"
        return f"{self.value} ({self.source or 'profile'})"


def _probe_facts(device: dict) -> dict | None:
    probe = device.get("probe")
    if not isinstance(probe, dict):
        return None
    facts = probe.get("facts")
    return facts if isinstance(facts, dict) else None


def _shown(name: str, value) -> str | None:
    if value is None or value == "":
        return None
    if name == "power_mode" and isinstance(value, dict):
        mode = value.get("name")
        return one_line(f"{mode}, nvpmodel mode {value.get('id')}" if mode else f"nvpmodel mode {value.get('id')}")
    if name in ("mem_total_mb", "memory_mb") and isinstance(value, (int, float)):
        return f"{number(value)} MB"
    return one_line(value)


def device_facts(record: dict) -> list[DeviceFact]:
    device = record.get("device") or {}
    probe = _probe_facts(device)
    profile = device.get("profile_facts") if isinstance(device.get("profile_facts"), dict) else {}
    profile_name = one_line(device.get("profile") or "profile")
    out = []
    for label, probe_names, profile_names in FACTS:
        fact = None
        for name in probe_names:
            entry = (probe or {}).get(name)
            value = _shown(name, entry.get("value") if isinstance(entry, dict) else None)
            if value is not None:
                source = entry.get("source")
                fact = DeviceFact(label, value, "probe", one_line(source) if source else None)
                break
        if fact is None:
            for name in profile_names:
                value = _shown(name, profile.get(name))
                if value is not None:
                    said = f"profile {profile_name}, " + ("the probe found none" if probe is not None
                                                          else "not probed")
                    fact = DeviceFact(label, value, "profile", said)
                    break
        out.append(fact or DeviceFact(label, None, None, None))
    return out


def device_status(record: dict) -> str:
    """'ok, 16 cells (7 did not finish)' or 'error: <what failed before measuring>'."""
    device = record.get("device") or {}
    if device.get("error"):
        return f"error: {one_line(device['error'])}"
    cells = record.get("cells") or []
    bad = sum(1 for c in cells if (c.get("status") or "error") != "ok")
    if not cells:
        return "no cells"
    return f"{len(cells)} runs" + (f", {bad} did not finish" if bad else ", all ok")
