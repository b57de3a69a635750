"""The user's edgetrt settings: ~/.config/edgetrt/config.yaml (optional)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from edgetrt.config import paths
from edgetrt.config.yamlfile import check_keys, expect_list, expect_type, load_yaml, require_mapping

_KEYS = ("default_device", "remote_devices")


@dataclass(frozen=True)
class UserSettings:
    default_device: str | None = None
    remote_devices: tuple[str, ...] = ()
    source: str | None = None


def load_settings() -> UserSettings:
    path = paths.config_home() / "config.yaml"
    if not os.path.lexists(path):  # anything else there (a FIFO, a dangling link) is an error line
        return UserSettings()
    doc = load_yaml(path)
    if doc.data is None:
        return UserSettings(source=str(path))
    data = require_mapping(doc, doc.data)
    check_keys(doc, data, _KEYS)
    remote = expect_list(doc, data, "remote_devices", str) or []
    return UserSettings(default_device=expect_type(doc, data, "default_device", str),
                        remote_devices=tuple(remote), source=str(path))
