"""Engines built once per kind of board: the first device of a group builds, the others load it.

An engine built by TensorRT X for GPU Y loads on every device with exactly that TensorRT build and
GPU. Devices are grouped by what an engine is valid for — the TensorRT flavour and full version
their probe found, the compute capability and the module, and the path that builds (the Python
bindings or trtexec: their cache keys differ). The first device of a group (inventory order)
builds; the host fetches each engine it built, checks it against the SHA-256 the device computed
when it wrote it, reads its header, and gives it only to devices its header says it loads on.
A device whose probe does not know its TensorRT build is in no group: it builds its own.

The builder timing cache goes the same way: the host fetches the one the first device's builds
wrote (checked against the SHA-256 the device recorded) and offers it to the others of its group
before they run, for any engine they still have to build (one not shared, or not shareable). A
device takes it only where it has no timing cache of its own, and only for exactly its own
TensorRT build and GPU (engine_cache.take_timing_cache); the report says which it used.
Every file fetched must lie in the device's engine cache under its edgetrt root.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SharedEngine:
    """One engine a group's first device built, fetched and checked on the host."""

    cell: tuple                  # (model, backend, precision, batch)
    path: Path                   # the host's verified copy
    sha256: str
    size: int
    key: dict                    # the engine cache key the builder used
    built: dict                  # its build record (build_ms, workspace, ...)
    source: str                  # the device that built it
    header: object = None        # diagnose.engine_header.EngineHeader
    refused: dict = field(default_factory=dict)  # device name -> why it was not given this engine


@dataclass
class SharedTimingCache:
    """The builder timing cache a group's first device wrote, fetched and checked on the host."""

    path: Path | None            # the host's verified copy (None when refused)
    sha256: str
    size: int
    key: dict                    # engine_cache.timing_cache_key: library, version, compute capability
    source: str
    group: tuple | None = None   # the engine group of the device that wrote it (engine_group)
    refused: dict = field(default_factory=dict)  # device name -> why it was not offered


@dataclass
class Offers:
    """What one device of a group is offered by its group's first device."""

    engines: list = field(default_factory=list)       # SharedEngine
    timing_cache: SharedTimingCache | None = None
    timing_cache_sent: bool = False


def _fact(run, name):
    return (((run.probe or {}).get("facts") or {}).get(name) or {}).get("value")


def engine_group(run) -> tuple | None:
    """(flavour, TensorRT version, compute capability, module, build path) an engine of this device
    is valid for; None when any of them is unknown (the device then builds its own)."""
    version = _fact(run, "tensorrt")
    bindings = _fact(run, "tensorrt_bindings") or {}
    choice = _fact(run, "tensorrt_path") or {}
    facts = run.plan.device.facts
    cc = _fact(run, "compute_capability") or facts.get("compute_capability")
    module = _fact(run, "part_number") or facts.get("part_number") or facts.get("board")
    path = choice.get("path")
    if not version or len(str(version).split(".")) < 3 or not cc or not path:
        return None
    return (bindings.get("flavour") or "tensorrt", str(version), str(cc), module, path)


def groups(runs) -> dict[tuple, list]:
    """Reached devices with TensorRT cells, by engine group, in their order."""
    found: dict[tuple, list] = {}
    for run in runs:
        if run.error or "tensorrt" not in run.plan.backends:
            continue
        group = engine_group(run)
        if group is not None:
            found.setdefault(group, []).append(run)
    return found


def fetch_built_engines(run, session, cache_dir: Path, progress) -> list[SharedEngine]:
    """Every engine ``run``'s device built in this execution, fetched and verified on the host."""
    from edgetrt.diagnose.engine_header import read_engine_header
    from edgetrt.errors import EdgetrtError

    engines = []
    for result in run.results:
        facts = result.facts or {}
        if result.backend != "tensorrt" or not result.ok or facts.get("engine") != "built":
            continue
        remote, sha, key = facts.get("engine_file"), facts.get("engine_sha256"), facts.get("engine_key")
        if not (isinstance(remote, str) and isinstance(sha, str) and isinstance(key, dict)):
            continue
        data = _fetch(run, session, remote, "engine", facts.get("engine_bytes"), progress)
        if data is None:
            continue
        engine = SharedEngine((result.model, result.backend, result.precision, result.batch),
                              cache_dir / f"{hashlib.sha256(data).hexdigest()}.engine",
                              hashlib.sha256(data).hexdigest(), len(data), key,
                              dict(facts.get("build") or {}, build_ms=result.build_ms), run.name)
        if engine.sha256 != sha:
            # Changed between the device writing it and this host reading it: never passed on.
            engine.refused["*"] = (f"the engine fetched from {run.name} does not hash to what the device "
                                   f"recorded ({engine.sha256[:12]} vs {sha[:12]})")
            engines.append(engine)
            continue
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = engine.path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(engine.path)
        try:
            engine.header = read_engine_header(engine.path)
        except EdgetrtError as exc:
            engine.refused["*"] = f"the engine built on {run.name} is not one this host can read: {exc.message}"
        engines.append(engine)
    return engines


def engine_cache_dir(root: str) -> str:
    """Where the agent keeps engines and timing caches under a device's edgetrt root (the
    ``engine_cache_dir`` option execute.backend_options sends)."""
    return posixpath.join(root, "engines")


def _fetch(run, session, remote, what: str, recorded_bytes, progress) -> bytes | None:
    """A file the device says it wrote: read only from its engine cache under its edgetrt root,
    and only a regular file of the size the device recorded (never a device file, never more)."""
    from edgetrt.errors import EdgetrtError

    directory = posixpath.normpath(engine_cache_dir(session.root))
    path = posixpath.normpath(remote) if isinstance(remote, str) and "\x00" not in remote else None
    if path is None or not path.startswith(directory + "/"):
        progress.warn(f"{run.name}: not fetched to share: the {what} it names ({str(remote)[:200]!r}) is "
                      f"outside its engine cache {directory}")
        return None
    try:
        size = session.transport.size(path)
        if size is None or (isinstance(recorded_bytes, int) and size != recorded_bytes):
            progress.warn(f"{run.name}: not fetched to share: {path} is not a regular file of the "
                          f"{recorded_bytes} bytes it recorded for the {what} (found: {size})")
            return None
        return session.transport.read_bytes(path)
    except EdgetrtError as exc:
        progress.warn(f"{run.name}: {what} {path} could not be fetched to share it: {exc.message}")
        return None


def fetch_timing_cache(run, session, cache_dir: Path, progress) -> SharedTimingCache | None:
    """The builder timing cache ``run``'s device wrote in this execution (after its last build),
    fetched and checked against the SHA-256 the device recorded; None when it wrote none."""
    fact = None
    for result in run.results:
        found = (result.facts or {}).get("timing_cache") if result.backend == "tensorrt" else None
        if isinstance(found, dict) and isinstance(found.get("file"), str) and isinstance(found.get("sha256"), str) \
                and isinstance(found.get("key"), dict):
            fact = found  # cells run in turn: the last build's record is what the file holds now
    if fact is None:
        return None
    data = _fetch(run, session, fact["file"], "timing cache", fact.get("bytes"), progress)
    if data is None:
        return None
    digest = hashlib.sha256(data).hexdigest()
    cache = SharedTimingCache(None, digest, len(data), fact["key"], run.name, engine_group(run))
    if digest != fact["sha256"]:
        # Changed after the device recorded it (another deploy into that root?): never passed on.
        cache.refused["*"] = (f"the timing cache fetched from {run.name} does not hash to what the device "
                              f"recorded ({digest[:12]} vs {fact['sha256'][:12]})")
        return cache
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache.path = cache_dir / f"{digest}.timing-cache"
    tmp = cache.path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(cache.path)
    return cache


def _same_release(a: str, b: str) -> bool:
    """Two versions of one TensorRT build: equal in every part both give (8.2.1 and 8.2.1.8)."""
    a_parts, b_parts = str(a).split("."), str(b).split(".")
    n = min(len(a_parts), len(b_parts))
    return n >= 3 and a_parts[:n] == b_parts[:n]


def offer_timing_cache_to(cache: SharedTimingCache, run) -> bool:
    """May ``run``'s device be offered ``cache``? Only where it is of the writer's engine group and
    the cache was written for that group's library and TensorRT release. Its compute capability part
    is the one the writer's agent derived by the rule the follower's applies (the GPU's, or what the
    host told trtexec, "unknown" where the probe found none); the device checks the whole key again,
    exactly, before it takes it (engine_cache.take_timing_cache)."""
    if "*" in cache.refused:
        cache.refused[run.name] = cache.refused["*"]
        return False
    group, key = engine_group(run), cache.key
    written = (key.get("library"), str(key.get("version")), str(key.get("compute_capability")))
    if group is None or group != cache.group or written[0] != group[0] or not _same_release(written[1], group[1]):
        cache.refused[run.name] = (f"it was written by {_build_words(*written)}, this device runs "
                                   + (_build_words(*group[:3]) if group else "an unknown TensorRT build"))
        return False
    return True


def _build_words(library, version, cc) -> str:
    return f"{library} {version} on sm_{str(cc).replace('.', '')}"


def pass_on(groups: dict, sessions: dict, cache_dir: Path, progress) -> dict[str, Offers]:
    """Fetch what each group's first device built (engines, its timing cache) and offer it to the
    others of its kind; what was not passed on is noted on the device it was not given to."""
    offers: dict[str, Offers] = {}
    for members in groups.values():
        leader = members[0]
        if leader.name not in sessions:
            continue
        session = sessions[leader.name]
        engines = fetch_built_engines(leader, session, cache_dir, progress)
        timing = fetch_timing_cache(leader, session, cache_dir, progress)
        for follower in members[1:]:
            offer = offers[follower.name] = Offers([e for e in engines if offer_to(e, follower)])
            for engine in engines:
                if follower.name in engine.refused:
                    follower.notes.append(f"the {' '.join(map(str, engine.cell[1:]))} engine built on "
                                          f"{leader.name} was not passed on: {engine.refused[follower.name]}")
            if timing is not None and offer_timing_cache_to(timing, follower):
                offer.timing_cache = timing
            elif timing is not None:
                follower.notes.append(f"the timing cache of {leader.name} was not passed on: "
                                      f"{timing.refused[follower.name]}")
    return offers


def has_offer(offers: Offers | None, cell: tuple) -> bool:
    """Whether cell_options would hand this cell (model, backend, precision, batch) anything."""
    return offers is not None and cell[1] == "tensorrt" and (
        offers.timing_cache is not None or any(e.cell == cell for e in offers.engines))


def cell_options(session, offers: Offers | None, cell: tuple) -> dict:
    """The agent options that hand a cell (model, backend, precision, batch) what its group's first
    device made, put into the device's store first: ``shared_engines`` (the agent adopts the one
    built for exactly its key, engine_cache.adopt) and ``shared_timing_cache`` (taken only where the
    device has none, engine_cache.take_timing_cache; sent once per device)."""
    from edgetrt.device.store import LocalFile

    if not has_offer(offers, cell):
        return {}
    options, files = {}, []
    engines = [e for e in offers.engines if e.cell == cell]
    files += [LocalFile(e.path, e.sha256, e.size) for e in engines]
    timing = offers.timing_cache
    if timing is not None and not offers.timing_cache_sent:
        files.append(LocalFile(timing.path, timing.sha256, timing.size))
    if files:
        session.upload(files)
    if engines:
        options["shared_engines"] = [{"path": session.store_path(e.sha256), "sha256": e.sha256, "key": e.key,
                                      "built": e.built, "from": e.source} for e in engines]
    if timing is not None:
        offers.timing_cache_sent = True
        options["shared_timing_cache"] = {"path": session.store_path(timing.sha256), "sha256": timing.sha256,
                                          "key": timing.key, "from": timing.source}
    return options


def offer_to(engine: SharedEngine, run) -> bool:
    """May ``run``'s device be given ``engine``? Its header must say it loads there (the exact
    TensorRT build and GPU the device's probe found); refusals are recorded with their reason."""
    from edgetrt.diagnose.compat import engine_loads_on

    if "*" in engine.refused:
        engine.refused[run.name] = engine.refused["*"]
        return False
    group = engine_group(run)
    verdict = engine_loads_on(engine.header, group[1] if group else None, group[2] if group else None)
    if verdict.get("ok") is True:
        return True
    engine.refused[run.name] = "; ".join(verdict.get("reasons") or []) or "its header does not say it loads here"
    return False
