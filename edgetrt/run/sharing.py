"""Engines built once per kind of board: the first device of a group builds, the others load it.

An engine built by TensorRT X for GPU Y loads on every device with exactly that TensorRT build and
GPU. Devices are grouped by what an engine is valid for — the TensorRT flavour and full version
their probe found, the compute capability and the module, and the path that builds (the Python
bindings or trtexec: their cache keys differ). The first device of a group (inventory order)
builds; the host fetches each engine it built, checks it against the SHA-256 the device computed
when it wrote it, reads its header, and gives it only to devices its header says it loads on.
A device whose probe does not know its TensorRT build is in no group: it builds its own.
"""

from __future__ import annotations

import hashlib
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
        try:
            data = session.transport.read_bytes(remote)
        except EdgetrtError as exc:
            progress.warn(f"{run.name}: engine {remote} could not be fetched to share it: {exc.message}")
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
