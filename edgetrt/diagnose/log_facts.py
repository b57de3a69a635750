"""Versions and platform facts a log states, read with patterns for TensorRT's message families.

Direction matters and is easy to get backwards:
- "expecting library version X got Y": X is the runtime library doing the loading, Y is the
  release that serialized the engine (a 5.1.5-built engine on a 5.1.6 Nano prints
  "expecting library version 5.1.6 got 5.1.5").
- "expecting compute X got compute Y": X is the GPU running now, Y the one that built the engine.
- "Current Version: N, Serialized Engine Version: M": N is the runtime's tag, M the engine's.
- "produced from TRT A ... deserialized using TRT B" (user prose): A built the engine, B loads it.
- "Compiled against version X, but loaded Y" (TF-TRT): X is the TensorRT TensorFlow was built
  for, Y the one found at run time.
GPU architectures come as "SM 120" / "sm_87" (major digits, then one minor digit), "0x809"
(caskUtils: major and minor as hex bytes) or "compute capability 9.0".
Only what the text says is reported; nothing is inferred from file names or labels. Pasted logs
are often wrapped mid-word ("Serialized Engine Ve" / "rsion: 43"): a fact not found in the text is
looked for again in the text with its line breaks removed.
"""

from __future__ import annotations

import re

from edgetrt.diagnose.release_tables import releases_for_serialization_tag

VERSION = r"(\d+(?:\.\d+)+)"
TRT_WORD = r"(?:TRT|TensorRT)[ -]?v?"
EXPECTING_LIBRARY = re.compile(r"expecting library version\s+" + VERSION + r"\s+got\s+" + VERSION, re.I)
EXPECTING_COMPUTE = re.compile(r"expecting compute\s+(\d+\.\d+)\W+got compute\s+(\d+\.\d+)", re.I)
# "Current Version: 236, Serialized Engine Version: 237" and an OCR'd "(urent version: 232，...".
SERIALIZATION_TAGS = re.compile(r"Version:\s*(\d+)\s*[,，;]\s*Serialized Engine Version:\s*(\d+)", re.I)
DIFFERENT_VERSION_THAN = re.compile(r"exported with a different version than\s+" + VERSION, re.I)
BUILT_THEN_LOADED = re.compile(
    r"(?:produced|built|created|generated|serialized|exported|made|converted)\w* (?:from|with|by|using|on|in) "
    + TRT_WORD + VERSION + r"\W.{0,80}?(?:deserializ|load|run|read|open)\w* (?:with|using|by|on|in|under) "
    + TRT_WORD + VERSION,
    re.I,
)
TFTRT_COMPILED_LOADED = re.compile(r"Compiled against version\s+" + VERSION + r",?\s+but loaded\s+" + VERSION, re.I)
TFTRT_LINKED = re.compile(r"Linked (?:TensorRT|TRT) ver(?:sion)?:?\s*\((\d+),\s*(\d+),\s*(\d+)\)", re.I)
TFTRT_LOADED = re.compile(r"Loaded (?:TensorRT|TRT) ver(?:sion)?:?\s*\((\d+),\s*(\d+),\s*(\d+)\)", re.I)
SM_NUMBER = re.compile(r"(?:Target GPU SM|device target|\bsm)[\s_']*(\d{2,3})\b", re.I)
SM_HEX = re.compile(r"Unsupported SM:\s*0x([0-9a-f]{1,2})([0-9a-f]{2})\b", re.I)
DEVICE_CAPABILITY = re.compile(r"which has compute capability\s+(\d+\.\d+)", re.I)
SUPPORTED_CAPABILITIES = re.compile(r"Supported compute capabilities:\s*((?:>?\d+\.\d+[\s,]*)+)", re.I)
TACTIC_MEMORY = re.compile(r"Tactic Device request:\s*(\d+)\s*MB\s+Available:\s*(\d+)\s*MB", re.I)
REQUESTED_GPU_BYTES = re.compile(r"Requested amount of GPU memory \((\d+) bytes\)", re.I)
TRTEXEC_BANNER = re.compile(r"\[TensorRT v(\d{4,6})\]")
# Not a plugin name such as DETECT_TRT or YoloLayer_TRT ("DETECT_TRT version: 1.0"), yet Markdown "_TensorRT 7.1_".
TENSORRT_MENTION = re.compile(
    r"(?<![A-Za-z0-9])(?<![A-Za-z0-9]_)(?:tensorrt|trt)[\s_-]*(?:version)?[\s:*：=-]*(\d+\.\d+(?:\.\d+){0,2})", re.I
)
DPKG_TENSORRT = re.compile(
    r"^ii\s+(?:libnvinfer[\w-]*|tensorrt[\w-]*|python3-libnvinfer[\w-]*)\s+(\d+\.\d+\.\d+(?:\.\d+)?)", re.I | re.M
)
TENSORRT_REPO_PACKAGE = re.compile(r"nv-tensorrt-(?:local-)?repo-[\w.-]*?-(\d+\.\d+\.\d+(?:\.\d+)?)-cuda", re.I)
JETSON_BOARD = re.compile(
    r"\bJetson[ -]?(AGX Orin|AGX Xavier|AGX Thor|Orin NX|Orin Nano|Xavier NX|TX2 NX|Nano 2GB|Nano|TX2|TX1|Xavier|"
    r"Orin|Thor|NX)\b",
    re.I,
)
# Module names that mean a Jetson even without the word ("Xavier Nx", "Orin Nano").
BARE_JETSON_MODULE = re.compile(r"\b(AGX Orin|AGX Xavier|AGX Thor|Orin NX|Orin Nano|Xavier NX)\b", re.I)
BOARD_ACRONYMS = {"AGX", "NX", "TX1", "TX2", "2GB"}
JETPACK = re.compile(r"\bjetpack(?:[ _-]?version)?[\s:=_-]*(\d+(?:\.\d+)*)|\bJP[ -]?(\d\.\d+(?:\.\d+)?)\b", re.I)
L4T = re.compile(r"\bL4T[ _-]?R?(\d{2}(?:\.\d+){1,2})\b", re.I)
# L4T releases are numbered R21 and up; a smaller number after "l4t-" is another package's version.
FIRST_L4T_RELEASE = 21
SAFE_TAG_WORDS = ("safeversion", "safeserialization")
STD_TAG_WORDS = ("stdversion", "kserialization_version", "serializationversion")
TAG_CONTEXT_CHARS = 300


def extract_versions(text: str) -> dict:
    """Every version fact the text states, keyed by meaning; absent keys were not stated."""
    unwrapped = "".join(text.splitlines())
    versions: dict = {}
    versions.update(_engine_and_runtime_releases(text, unwrapped))
    versions.update(_serialization_tags(text) or _serialization_tags(unwrapped))
    versions.update(_compute_capabilities(text, unwrapped))
    versions.update(_memory_figures(text))
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


def _engine_and_runtime_releases(text: str, unwrapped: str) -> dict:
    releases: dict = {}
    library = EXPECTING_LIBRARY.search(text) or EXPECTING_LIBRARY.search(unwrapped)
    if library:
        releases["runtime_tensorrt"], releases["engine_tensorrt"] = library.group(1), library.group(2)
    built_then_loaded = BUILT_THEN_LOADED.search(text)
    if built_then_loaded and "runtime_tensorrt" not in releases:
        releases["engine_tensorrt"], releases["runtime_tensorrt"] = built_then_loaded.groups()
    different = DIFFERENT_VERSION_THAN.search(text)
    if different and "runtime_tensorrt" not in releases:
        releases["runtime_tensorrt"] = different.group(1)
    compiled_loaded = TFTRT_COMPILED_LOADED.search(text)
    linked, loaded = TFTRT_LINKED.search(text), TFTRT_LOADED.search(text)
    if compiled_loaded:
        releases["tensorrt_linked"], releases["tensorrt_loaded"] = compiled_loaded.groups()
    if linked:
        releases["tensorrt_linked"] = ".".join(linked.groups())
    if loaded:
        releases["tensorrt_loaded"] = ".".join(loaded.groups())
    return releases


def _compute_capabilities(text: str, unwrapped: str) -> dict:
    capabilities: dict = {}
    compute = EXPECTING_COMPUTE.search(text) or EXPECTING_COMPUTE.search(unwrapped)
    if compute:
        capabilities["compute_capability"] = {"expected": compute.group(1), "got": compute.group(2)}
        capabilities["device_compute_capability"], capabilities["engine_compute_capability"] = compute.groups()
        return capabilities
    device = DEVICE_CAPABILITY.search(text)
    sm_hex = SM_HEX.search(text)
    sm_number = SM_NUMBER.search(text)
    if device:
        capabilities["device_compute_capability"] = device.group(1)
    elif sm_hex:
        capabilities["device_compute_capability"] = f"{int(sm_hex.group(1), 16)}.{int(sm_hex.group(2), 16)}"
    elif sm_number:
        capabilities["device_compute_capability"] = sm_number_to_capability(sm_number.group(1))
    supported = SUPPORTED_CAPABILITIES.search(text)
    if supported:
        capabilities["engine_compute_capabilities"] = re.findall(r">?\d+\.\d+", supported.group(1))
    return capabilities


def sm_number_to_capability(number: str) -> str:
    """"87" -> "8.7", "120" -> "12.0": the last digit is the minor version."""
    return f"{int(number[:-1])}.{number[-1]}"


def _memory_figures(text: str) -> dict:
    figures: dict = {}
    tactic = TACTIC_MEMORY.search(text)
    if tactic:
        figures["device_memory_requested_mb"], figures["device_memory_available_mb"] = map(int, tactic.groups())
    requested = REQUESTED_GPU_BYTES.search(text)
    if requested:
        figures["gpu_memory_requested_bytes"] = int(requested.group(1))
    return figures


def extract_platform(text: str) -> dict:
    platform: dict = {}
    # The longest mention is the most specific ("Jetson Orin Nano" over a later "Jetson Orin").
    mentions = [match.group(1) for pattern in (JETSON_BOARD, BARE_JETSON_MODULE) for match in pattern.finditer(text)]
    boards = sorted(mentions, key=len, reverse=True)
    if boards:
        platform["jetson_board"] = "Jetson " + _canonical_board(boards[0])
    jetpack = JETPACK.search(text)
    if jetpack:
        platform["jetpack"] = jetpack.group(1) or jetpack.group(2)
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
    context = text[max(0, match.start() - TAG_CONTEXT_CHARS) : match.end()]
    context = context[context.rfind("\n") + 1 :].lower()
    field = None
    if any(word in context for word in SAFE_TAG_WORDS):
        field = "safe"
    elif any(word in context for word in STD_TAG_WORDS):
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
