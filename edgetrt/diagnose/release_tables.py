"""TensorRT release facts kept as data (edgetrt/data/tensorrt_serialization.json), read once.

A serialization tag is described in one place (``describe_serialization_tag``) so `doctor engine`
and `doctor log` say the same releases and the same verified/unverified status for it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

_TABLE_PATH = Path(__file__).resolve().parent.parent / "data" / "tensorrt_serialization.json"
TENSORRT = "TensorRT"
TENSORRT_RTX = "TensorRT-RTX"
VERIFIED = "verified in an engine header"
UNVERIFIED = "from error messages only, unverified"


@lru_cache(maxsize=1)
def _load_table() -> dict:
    with _TABLE_PATH.open(encoding="utf-8") as table_file:
        return json.load(table_file)


def _tag_entries(tag: int, field: str | None, product: str) -> list[dict]:
    return [
        entry
        for entry in _load_table()["tags"]
        if entry["tag"] == tag and field in (None, entry["field"]) and entry.get("product", TENSORRT) == product
    ]


def releases_for_serialization_tag(tag: int, field: str | None = None, product: str = TENSORRT) -> list[str]:
    """Releases (prefixes such as "8.2") known to write this tag; empty when unknown.

    ``field`` is "safe" or "std" when the message says which header word it compared (the
    safe word is 0 in every release from 8.2 on); None matches either.
    """
    releases: list[str] = []
    for entry in _tag_entries(tag, field, product):
        releases.extend(release for release in entry["releases"] if release not in releases)
    return releases


def verified_releases_for_serialization_tag(tag: int, field: str | None = None, product: str = TENSORRT) -> list[str]:
    """The subset of ``releases_for_serialization_tag`` read from a real engine header."""
    verified: list[str] = []
    for entry in _tag_entries(tag, field, product):
        verified.extend(release for release in entry.get("verified_releases", []) if release not in verified)
    return verified


def describe_serialization_tag(tag: int, field: str | None = None, product: str = TENSORRT) -> str:
    """'239 (TensorRT 10.3, 10.9: verified in an engine header)', the one wording everywhere."""
    releases = releases_for_serialization_tag(tag, field, product)
    if not releases:
        return f"{tag} (release not in edgetrt's table)"
    verified = set(verified_releases_for_serialization_tag(tag, field, product))
    groups = [
        (", ".join(release for release in releases if release in verified), VERIFIED),
        (", ".join(release for release in releases if release not in verified), UNVERIFIED),
    ]
    described = "; ".join(f"{names}: {status}" for names, status in groups if names)
    return f"{tag} ({product} {described})"


def rtx_target_capabilities(mask: int) -> list[str]:
    """Compute capabilities named by a TensorRT-RTX engine's target bit mask (unknown bits as 'bit N')."""
    names = _load_table()["tensorrt_rtx"]["target_mask_bits"]
    targets = []
    for bit in range(mask.bit_length()):
        if mask >> bit & 1:
            targets.append(names[bit] if bit < len(names) else f"bit {bit} (unknown)")
    return targets


def jetson_models_for_compute_capability(compute_capability: str) -> list[str]:
    """Jetson modules with this integrated GPU; empty when the capability is not a Jetson one."""
    from edgetrt.agent import jetson

    return jetson.modules_with_compute_capability(compute_capability)
