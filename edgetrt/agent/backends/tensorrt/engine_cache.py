"""Built TensorRT engines on the device, kept by what they were built from.

An engine is only valid for the exact TensorRT library (its flavour, tensorrt or tensorrt_rtx, and
its full version) and GPU that built it, and only means what it was asked to mean (precision,
input shapes, workspace). All of that goes into the key; the file
name is the SHA-256 of the key's canonical JSON, and the key is stored beside the engine so a
person can read what a file is. Files are written atomically (temporary name, then rename), so a
build killed half way leaves no engine that looks complete.

The cache directory is chosen by the host (``options["engine_cache_dir"]``); the default lives in
the device user's home, never next to the artifacts (the store holds only content-addressed files).

Layout::

    <dir>/<key sha256>.engine       serialized engine (plan)
    <dir>/<key sha256>.json         {"key": {...}, "built": {...}}
    <dir>/<key sha256>.calib        INT8 calibration cache (implicit quantization only)
    <dir>/timing/<flavour>-<version>_sm<cc>.cache   builder timing cache, one per library and GPU
    <dir>/timing/<flavour>-<version>_sm<cc>.origin.json   the device it came from, when shared

A timing cache, like an engine, may come from another device of exactly the same TensorRT build
and GPU (the host passes the first one's on, ``take_timing_cache``); a device's own is never
replaced.
"""

import hashlib
import json
import os

DEFAULT_DIR = "~/.edgetrt/engines"
KEY_SCHEMA = 2  # 2: the library flavour joined the key


def cache_dir(options):
    """The engine cache directory for these run options, created if missing."""
    path = os.path.abspath(os.path.expanduser(options.get("engine_cache_dir") or DEFAULT_DIR))
    if not os.path.isdir(path):
        os.makedirs(path)
    return path


def sha256_file(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def engine_key(onnx_sha256, flavour, version, compute_capability, precision, shapes,
               workspace_bytes, extra=None):
    """The key of one engine, as a plain dict.

    ``flavour``: "tensorrt" or "tensorrt_rtx"; ``version``: its full version (four parts where
    the library gives them). ``compute_capability``: the GPU's, or what a portable engine was
    built for (TensorRT-RTX). ``shapes``: {input name: {"min": [...], "opt": [...], "max": [...]}}.
    ``extra`` holds what else changes the engine (INT8 mode, calibration data digest, the builder).
    """
    key = {
        "schema": KEY_SCHEMA,
        "onnx_sha256": onnx_sha256,
        "library": str(flavour),
        "version": str(version),
        "compute_capability": str(compute_capability),
        "precision": precision,
        "shapes": {name: {k: [int(d) for d in spec[k]] for k in ("min", "opt", "max")}
                   for name, spec in shapes.items()},
        "workspace_bytes": int(workspace_bytes),
    }
    if extra:
        key.update(extra)
    return key


def key_digest(key):
    canonical = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class EngineCache(object):
    """One cache directory; paths are derived from a key, never from user input."""

    def __init__(self, directory):
        self.directory = directory

    def paths(self, key):
        stem = os.path.join(self.directory, key_digest(key))
        return {"engine": stem + ".engine", "key": stem + ".json", "calib": stem + ".calib"}

    def load(self, key):
        """The engine bytes for ``key``, or None when absent (or its key file disagrees)."""
        paths = self.paths(key)
        try:
            with open(paths["key"]) as fh:
                stored = json.load(fh)
            if stored.get("key") != key:
                return None
            with open(paths["engine"], "rb") as fh:
                return fh.read()
        except (IOError, OSError, ValueError):
            return None

    def built_info(self, key):
        """What the stored build recorded (workspace actually used, build time), or {}."""
        try:
            with open(self.paths(key)["key"]) as fh:
                return json.load(fh).get("built") or {}
        except (IOError, OSError, ValueError):
            return {}

    def store(self, key, engine_bytes, built=None):
        """Write the engine, then its key file; both atomically. Returns the engine path. The key
        file records the engine's SHA-256: what a host that fetches the engine checks it against."""
        paths = self.paths(key)
        atomic_write(paths["engine"], engine_bytes)
        self._write_key(key, dict(built or {}, sha256=hashlib.sha256(engine_bytes).hexdigest()))
        return paths["engine"]

    def store_file(self, key, built_path, built=None):
        """Adopt an engine another program wrote (trtexec --saveEngine) by renaming it in place."""
        paths = self.paths(key)
        os.rename(built_path, paths["engine"])
        self._write_key(key, dict(built or {}, sha256=sha256_file(paths["engine"])))
        return paths["engine"]

    def _write_key(self, key, built):
        doc = json.dumps({"key": key, "built": built}, sort_keys=True, indent=1)
        atomic_write(self.paths(key)["key"], doc.encode("utf-8"))

    def adopt(self, key, offers):
        """Take an engine an identical device built into this cache under ``key``.

        ``offers``: what the host passed on, each {"path", "sha256", "key", "built", "from"}: an
        engine another device of the same TensorRT build and GPU built, already checked by the
        host against its header. One is taken only when it was built for exactly this key (same
        ONNX, TensorRT, GPU, precision, shapes, workspace and builder) and its file hashes right.
        Returns its build record (with ``shared_from``), or None."""
        for offer in offers or ():
            if not isinstance(offer, dict) or offer.get("key") != key:
                continue
            data = read_bytes(offer.get("path") or "")
            if data is None or hashlib.sha256(data).hexdigest() != offer.get("sha256"):
                continue
            built = dict(offer.get("built") or {}, shared_from=offer.get("from"))
            self.store(key, data, built)
            return self.built_info(key)
        return None

    def remove(self, key):
        for path in self.paths(key).values():
            if path.endswith(".calib"):
                continue  # calibration is still valid for a rebuild
            try:
                os.remove(path)
            except OSError:
                pass

    def take_timing_cache(self, path, key, offer):
        """Give this device the builder timing cache a device of the same TensorRT build and GPU
        wrote, where this device has none of its own.

        ``offer``: what the host passed on, {"path", "sha256", "key", "from"}: the timing cache of
        the first device of this device's group, checked by the host against the SHA-256 that
        device recorded. It is written to ``path`` only when its key is exactly ``key``
        (timing_cache_key: library, version, GPU), its file hashes right, and ``path`` holds no
        timing cache yet, or already holds exactly these bytes (a retried run): this device's
        own cache is kept, never replaced. Where it came from is kept beside it
        (``timing_cache_origin``), so a later build seeded with it can say so.

        Taken whether or not this run builds: a run whose engine is cached or shared builds
        nothing and uses no timing cache, but its device's next build starts from this one.
        Returns what happened, for the run's facts: {} when nothing was offered,
        {"shared_from": DEVICE} when taken, else {"offered_from": DEVICE, "not_taken": why}."""
        if not isinstance(offer, dict):
            return {}
        source = offer.get("from")
        if offer.get("key") != key:
            return {"offered_from": source, "not_taken": "it was written by {}, this device runs {}".format(
                describe_timing_key(offer.get("key")), describe_timing_key(key))}
        data = read_bytes(offer.get("path") or "")
        if data is None or hashlib.sha256(data).hexdigest() != offer.get("sha256"):
            return {"offered_from": source, "not_taken": "the file offered is missing or does not hash "
                                                          "to what the host checked"}
        own = read_bytes(path)
        if own is not None and own != data:
            origin = timing_cache_origin(path).get("shared_from")
            why = ("this device's timing cache, which started from {}'s, has grown since; kept".format(origin)
                   if origin else "this device has a timing cache of its own, kept")
            return {"offered_from": source, "not_taken": why}
        if own is None:
            atomic_write(path, data)
            doc = {"shared_from": source, "sha256": offer.get("sha256"), "key": key}
            atomic_write(origin_path(path), json.dumps(doc, sort_keys=True).encode("utf-8"))
        return {"shared_from": source}

    def timing_cache_path(self, flavour, version, compute_capability):
        safe = "".join(c if c.isalnum() or c in ".-" else "_" for c in "{}-{}_sm{}".format(
            flavour, version, str(compute_capability).replace(".", "")))
        directory = os.path.join(self.directory, "timing")
        if not os.path.isdir(directory):
            os.makedirs(directory)
        return os.path.join(directory, safe + ".cache")


def timing_cache_key(flavour, version, compute_capability):
    """What a builder timing cache is valid for: one library build (flavour and full version) and
    one GPU; the parts of its file name (EngineCache.timing_cache_path)."""
    return {"library": str(flavour), "version": str(version), "compute_capability": str(compute_capability)}


def describe_timing_key(key):
    if not isinstance(key, dict):
        return "an unknown TensorRT build"
    return "{} {} on sm_{}".format(key.get("library"), key.get("version"),
                                   str(key.get("compute_capability")).replace(".", ""))


def origin_path(timing_path):
    """Where a timing cache taken from another device records which one (beside the cache)."""
    return timing_path[:-len(".cache")] + ".origin.json" if timing_path.endswith(".cache") \
        else timing_path + ".origin.json"


def timing_cache_origin(timing_path):
    """{"shared_from": DEVICE, "sha256": ...} when this device's timing cache started as one
    another device wrote (take_timing_cache), else {}."""
    data = read_bytes(origin_path(timing_path))
    try:
        doc = json.loads(data.decode("utf-8")) if data is not None else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) and isinstance(doc.get("shared_from"), str) else {}


def record_timing_cache(path, key, data, reused, provided=None):
    """The run's ``timing_cache`` fact after a build wrote ``data`` to ``path``: what a host that
    fetches the file checks it against (its SHA-256), and what the build started from.

    ``reused``: the build was seeded with a cache already there; ``provided``: take_timing_cache's
    answer for this run ({"shared_from"} when the seed was another device's, taken now). A seed
    this device kept from an earlier offer says so as ``started_from``. A build that started from
    nothing forgets any origin recorded before (that cache was deleted since)."""
    fact = {"file": path, "key": key, "reused": bool(reused), "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}
    fact.update(provided or {})
    if not reused:
        try:
            os.remove(origin_path(path))
        except OSError:
            pass
        return fact
    origin = timing_cache_origin(path).get("shared_from")
    if origin and "shared_from" not in fact:
        fact["started_from"] = origin
    return fact


def atomic_write(path, data):
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    tmp = "{}.tmp.{}".format(path, os.getpid())
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_bytes(path):
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except (IOError, OSError):
        return None
