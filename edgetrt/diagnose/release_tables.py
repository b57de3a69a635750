"""TensorRT release facts kept as data (edgetrt/data/tensorrt_serialization.json), read once."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

_TABLE_PATH = Path(__file__).resolve().parent.parent / "data" / "tensorrt_serialization.json"


@lru_cache(maxsize=1)
def _load_table() -> dict:
    with _TABLE_PATH.open(encoding="utf-8") as table_file:
        return json.load(table_file)


def releases_for_serialization_tag(tag: int, field: str | None = None) -> list[str]:
    """TensorRT releases (prefixes such as "8.2") known to write this tag; empty when unknown.

    ``field`` is "safe" or "std" when the message says which header word it compared (the
    safe word is 0 in every release from 8.2 on); None matches either.
    """
    releases: list[str] = []
    for entry in _load_table()["tags"]:
        if entry["tag"] == tag and field in (None, entry["field"]):
            releases.extend(entry["releases"])
    return releases


def jetson_models_for_compute_capability(compute_capability: str) -> list[str]:
    """Jetson modules with this integrated GPU; empty when the capability is not a Jetson one."""
    from edgetrt.agent import jetson

    return jetson.modules_with_compute_capability(compute_capability)
