"""Where edgetrt finds its YAML files and keeps its caches (one place, so tests can redirect it)."""

from __future__ import annotations

import os
from pathlib import Path

from edgetrt.config import homes

PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: tables kept as data (profiles, release tables); read by path so Python 3.8 works (NGC containers)
DATA_DIR = PACKAGE_DIR / "data"


def data_text(name: str) -> str:
    return (DATA_DIR / name).read_text(encoding="utf-8")
#: the directory holding the package (a source tree, or site-packages): mounted into an NGC
#: container so that the container's Python runs this same edgetrt
SOURCE_ROOT = PACKAGE_DIR.parent
#: the device files and model recipes edgetrt ships: package data, so an installed wheel has them
SHIPPED_DEVICES = DATA_DIR / "devices"
SHIPPED_RECIPES = DATA_DIR / "recipes"


def recipe_dirs() -> list[Path]:
    dirs = [SHIPPED_RECIPES]
    extra = os.environ.get("EDGETRT_RECIPES")
    if extra:
        dirs.insert(0, Path(extra))
    user = config_home() / "recipes"
    if user.is_dir():
        dirs.insert(0, user)
    return dirs


def device_dirs() -> list[Path]:
    """Later directories override earlier ones (the user's own devices win)."""
    dirs = [SHIPPED_DEVICES, config_home() / "devices"]
    extra = os.environ.get("EDGETRT_DEVICES")
    if extra:
        dirs.append(Path(extra))
    return dirs


def config_home() -> Path:
    return Path(homes.config_home_dir())


def cache_home() -> Path:
    return Path(homes.cache_home_dir())


def results_dir() -> Path:
    explicit = os.environ.get("EDGETRT_RESULTS")
    return Path(explicit) if explicit else cache_home() / "results"


#: bytes a cache directory name may use: NAME_MAX is 255 and the artifact writer's temporary
#: sibling adds 18 (".<name>.partial-XXXXXXXX"); the rest is headroom for other suffixes
CACHE_NAME_BYTES = 200


def cache_dir_name(name: str, key: str) -> str:
    """``<name>-<key[:16]>``, with a long ``name`` cut and its SHA-256 put in place of the rest.

    A model file may legally have a 245-byte name; the cache directory adds a suffix, and the
    temporary directory beside it another, so the name is bounded here, once. Distinct long names
    stay distinct (the hash covers the whole name); short names are kept as they are.
    """
    import hashlib

    suffix = f"-{key[:16]}"
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) + len(suffix) <= CACHE_NAME_BYTES:
        return name + suffix
    digest = "~" + hashlib.sha256(encoded).hexdigest()[:16]
    keep = CACHE_NAME_BYTES - len(suffix) - len(digest)
    head = encoded[:keep].decode("utf-8", "ignore")  # never cut a character in half
    return head + digest + suffix
