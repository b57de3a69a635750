"""Versions and platform facts a log states, read with patterns for TensorRT's message families.

Direction matters and is easy to get backwards:
- "expecting library version X got Y": X is the runtime library doing the loading, Y is the
  release that serialized the engine (a 5.1.5-built engine on a 5.1.6 Nano prints
  "expecting library version 5.1.6 got 5.1.5").
- "expecting compute X got compute Y": X is the GPU running now, Y the one that built the engine.
- "Current Version: N, Serialized Engine Version: M": N is the runtime's tag, M the engine's.
Only what the text says is reported; nothing is inferred from file names or labels.
"""

from __future__ import annotations

import re

from edgetrt.diagnose.release_tables import releases_for_serialization_tag

VERSION = r"(\d+(?:\.\d+)+)"
EXPECTING_LIBRARY = re.compile(r"expecting library version\s+" + VERSION + r"\s+got\s+" + VERSION, re.I)
EXPECTING_COMPUTE = re.compile(r"expecting compute\s+(\d+\.\d+)\W+got compute\s+(\d+\.\d+)", re.I)
SERIALIZATION_TAGS = re.compile(r"Current Version:\s*(\d+),\s*Serialized Engine Version:\s*(\d+)", re.I)
DIFFERENT_VERSION_THAN = re.compile(r"exported with a different version than\s+" + VERSION, re.I)
TARGET_SM = re.compile(r"Target GPU SM\s*(\d)(\d+)\b", re.I)
TRTEXEC_BANNER = re.compile(r"\[TensorRT v(\d{4,6})\]")
TENSORRT_MENTION = re.compile(r"(?<![A-Za-z])(?:tensorrt|trt)[\s_-]*(?:version)?[\s:*：=-]*(\d+\.\d+(?:\.\d+){0,2})", re.I)
DPKG_TENSORRT = re.compile(
    r"^ii\s+(?:libnvinfer[\w-]*|tensorrt[\w-]*|python3-libnvinfer[\w-]*)\s+(\d+\.\d+\.\d+(?:\.\d+)?)", re.I | re.M
)
TENSORRT_REPO_PACKAGE = re.compile(r"nv-tensorrt-(?:local-)?repo-[\w.-]*?-(\d+\.\d+\.\d+(?:\.\d+)?)-cuda", re.I)
JETSON_BOARD = re.compile(
    r"\bJetson[ -]?(AGX Orin|AGX Xavier|AGX Thor|Orin NX|Orin Nano|Xavier NX|TX2 NX|Nano 2GB|Nano|TX2|TX1|Xavier|"
    r"Orin|Thor|NX)\b",
    re.I,
)
BOARD_ACRONYMS = {"AGX", "NX", "TX1", "TX2", "2GB"}
JETPACK = re.compile(r"\bjetpack[ -]?(\d+(?:\.\d+)*)", re.I)
L4T = re.compile(r"\bL4T[ _-]?R?(\d{2}(?:\.\d+){1,2})\b", re.I)
# L4T releases are numbered R21 and up; a smaller number after "l4t-" is another package's version.
FIRST_L4T_RELEASE = 21
SAFE_TAG_WORDS = ("safeversion", "safeserialization")
STD_TAG_WORDS = ("stdversion", "kserialization_version", "serializationversion")


def extract_versions(text: str) -> dict:
    """Every version fact the text states, keyed by meaning; absent keys were not stated."""
    versions: dict = {}
    library = EXPECTING_LIBRARY.search(text)
    if library:
        versions["runtime_tensorrt"], versions["engine_tensorrt"] = library.group(1), library.group(2)
    different = DIFFERENT_VERSION_THAN.search(text)
    if different and "runtime_tensorrt" not in versions:
        versions["runtime_tensorrt"] = different.group(1)
    versions.update(_serialization_tags(text))
    compute = EXPECTING_COMPUTE.search(text)
    if compute:
        versions["compute_capability"] = {"expected": compute.group(1), "got": compute.group(2)}
        versions["device_compute_capability"], versions["engine_compute_capability"] = compute.groups()
    target_sm = TARGET_SM.search(text)
    if target_sm:
        versions["device_compute_capability"] = f"{target_sm.group(1)}.{target_sm.group(2)}"
    banner = TRTEXEC_BANNER.search(text)
    if banner:
        versions["tensorrt_banner"] = trtexec_banner_version(int(banner.group(1)))
    packages = _unique(DPKG_TENSORRT.findall(text) + TENSORRT_REPO_PACKAGE.findall(text))
    if packages:
        versions["tensorrt_packages"] = packages
    mentioned = _unique(TENSORRT_MENTION.findall(text))
    if mentioned:
        versions["tensorrt_mentioned"] = mentioned
    versions.update(extract_platform(text))
    return versions


def extract_platform(text: str) -> dict:
    platform: dict = {}
    # The longest mention is the most specific ("Jetson Orin Nano" over a later "Jetson Orin").
    boards = sorted((match.group(1) for match in JETSON_BOARD.finditer(text)), key=len, reverse=True)
    if boards:
        platform["jetson_board"] = "Jetson " + _canonical_board(boards[0])
    jetpack = JETPACK.search(text)
    if jetpack:
        platform["jetpack"] = jetpack.group(1)
    for l4t in L4T.finditer(text):
        if int(l4t.group(1).split(".")[0]) >= FIRST_L4T_RELEASE:
            platform["l4t"] = l4t.group(1)
            break
    return platform


def _canonical_board(name: str) -> str:
    return " ".join(word.upper() if word.upper() in BOARD_ACRONYMS else word.capitalize() for word in name.split())


def trtexec_banner_version(number: int) -> str:
    """trtexec prints "[TensorRT v8502]" for 8.5.2 and "[TensorRT v100200]" for 10.2.0."""
    if number >= 10000:
        return f"{number // 10000}.{number // 100 % 100}.{number % 100}"
    return f"{number // 1000}.{number // 100 % 10}.{number % 100}"


def _serialization_tags(text: str) -> dict:
    match = SERIALIZATION_TAGS.search(text)
    if not match:
        return {}
    line = text[text.rfind("\n", 0, match.start()) + 1 : match.end()].lower()
    field = None
    if any(word in line for word in SAFE_TAG_WORDS):
        field = "safe"
    elif any(word in line for word in STD_TAG_WORDS):
        field = "std"
    runtime_tag, engine_tag = int(match.group(1)), int(match.group(2))
    tags: dict = {"runtime_serialization_tag": runtime_tag, "engine_serialization_tag": engine_tag}
    runtime_releases = releases_for_serialization_tag(runtime_tag, field)
    engine_releases = releases_for_serialization_tag(engine_tag, field)
    if runtime_releases:
        tags["runtime_tensorrt_candidates"] = runtime_releases
    if engine_releases:
        tags["engine_tensorrt_candidates"] = engine_releases
    return tags


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(value.rstrip(".") for value in values))
