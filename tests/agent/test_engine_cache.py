"""The device engine cache on real files: key composition, hit/miss, atomic writes."""

import hashlib
import json
import os

import pytest

from edgetrt.agent.backends.tensorrt import engine_cache
from edgetrt.agent.backends.tensorrt.engine_cache import EngineCache, engine_key, key_digest

SHAPES = {"input": {"min": [1, 224, 224, 3], "opt": [8, 224, 224, 3], "max": [8, 224, 224, 3]}}


def key(**changes):
    args = dict(onnx_sha256="a" * 64, flavour="tensorrt", version="8.2.1.8", compute_capability="5.3",
                precision="fp16", shapes=SHAPES, workspace_bytes=1 << 28)
    args.update(changes)
    return engine_key(**args)


def test_the_key_holds_everything_that_makes_an_engine():
    k = key(extra={"builder": "python"})
    assert k == {"schema": 2, "onnx_sha256": "a" * 64, "library": "tensorrt", "version": "8.2.1.8",
                 "compute_capability": "5.3", "precision": "fp16", "shapes": SHAPES,
                 "workspace_bytes": 1 << 28, "builder": "python"}


@pytest.mark.parametrize("change", [
    {"onnx_sha256": "b" * 64},
    {"version": "8.2.1.9"},  # the fourth part matters: engines are not portable across it
    {"flavour": "tensorrt_rtx"},  # TensorRT-RTX's engines are another format altogether
    {"compute_capability": "7.2"},
    {"precision": "int8"},
    {"shapes": {"input": {"min": [1, 224, 224, 3], "opt": [4, 224, 224, 3], "max": [8, 224, 224, 3]}}},
    {"workspace_bytes": 1 << 27},
    {"extra": {"int8_mode": "calibrate"}},
])
def test_each_part_of_the_key_changes_the_file_name(change):
    assert key_digest(key(**change)) != key_digest(key())


def test_the_file_name_is_the_sha256_of_the_canonical_key_json():
    k = key()
    canonical = json.dumps(k, sort_keys=True, separators=(",", ":")).encode()
    assert key_digest(k) == hashlib.sha256(canonical).hexdigest()
    assert key_digest(json.loads(json.dumps(k))) == key_digest(k)  # stable through JSON


def test_miss_then_store_then_hit_with_the_key_beside_the_engine(tmp_path):
    cache = EngineCache(str(tmp_path))
    k = key()
    assert cache.load(k) is None
    path = cache.store(k, b"PLAN", built={"workspace_bytes": 1 << 27, "build_ms": 12.5})
    assert path == str(tmp_path / (key_digest(k) + ".engine"))
    assert cache.load(k) == b"PLAN"
    stored = json.loads((tmp_path / (key_digest(k) + ".json")).read_text())
    # The key file records the engine's SHA-256: a host that fetches the engine to share it checks it.
    assert stored == {"key": k, "built": {"workspace_bytes": 1 << 27, "build_ms": 12.5,
                                          "sha256": hashlib.sha256(b"PLAN").hexdigest()}}
    assert cache.built_info(k)["workspace_bytes"] == 1 << 27
    assert cache.load(key(precision="fp32")) is None


def test_an_engine_whose_key_file_disagrees_is_not_used(tmp_path):
    cache = EngineCache(str(tmp_path))
    k = key()
    cache.store(k, b"PLAN")
    paths = cache.paths(k)
    with open(paths["key"], "w") as fh:
        json.dump({"key": key(precision="int8"), "built": {}}, fh)
    assert cache.load(k) is None


def test_remove_keeps_the_calibration_cache(tmp_path):
    cache = EngineCache(str(tmp_path))
    k = key(precision="int8")
    cache.store(k, b"PLAN")
    engine_cache.atomic_write(cache.paths(k)["calib"], b"TABLE")
    cache.remove(k)
    assert sorted(os.listdir(str(tmp_path))) == [key_digest(k) + ".calib"]


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "x.engine"
    target.write_bytes(b"OLD")

    class Exploding(object):
        def __buffer__(self, flags):
            raise RuntimeError("disk gone")

    with pytest.raises((RuntimeError, TypeError)):
        engine_cache.atomic_write(str(target), Exploding())
    assert target.read_bytes() == b"OLD"
    assert os.listdir(str(tmp_path)) == ["x.engine"]  # no temporary file left behind


def test_atomic_write_replaces_whole_files(tmp_path):
    target = tmp_path / "x.engine"
    engine_cache.atomic_write(str(target), b"A" * 1000)
    engine_cache.atomic_write(str(target), b"B")
    assert target.read_bytes() == b"B"


def test_store_file_adopts_an_engine_written_by_trtexec(tmp_path):
    cache = EngineCache(str(tmp_path))
    k = key()
    tmp = tmp_path / "out.trtexec.1"
    tmp.write_bytes(b"PLAN")
    cache.store_file(k, str(tmp), {"build_ms": 3.0})
    assert not tmp.exists() and cache.load(k) == b"PLAN"


def test_default_directory_is_in_the_device_home_not_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert engine_cache.cache_dir({}) == str(tmp_path / ".edgetrt" / "engines")
    assert os.path.isdir(str(tmp_path / ".edgetrt" / "engines"))
    chosen = tmp_path / "chosen"
    assert engine_cache.cache_dir({"engine_cache_dir": str(chosen)}) == str(chosen)


def test_timing_cache_is_per_library_version_and_gpu(tmp_path):
    cache = EngineCache(str(tmp_path))
    a = cache.timing_cache_path("tensorrt", "8.2.1.8", "5.3")
    assert a == str(tmp_path / "timing" / "tensorrt-8.2.1.8_sm53.cache")
    assert a != cache.timing_cache_path("tensorrt", "8.2.1.8", "7.2")
    assert a != cache.timing_cache_path("tensorrt", "8.6.1.6", "5.3")
    assert a != cache.timing_cache_path("tensorrt_rtx", "8.2.1.8", "5.3")


def test_an_engine_an_identical_device_built_is_adopted_only_for_its_own_key(tmp_path):
    cache = EngineCache(engine_cache.cache_dir({"engine_cache_dir": str(tmp_path / "engines")}))
    k = key()
    offered = tmp_path / "offered.engine"
    offered.write_bytes(b"PLAN FROM ELSEWHERE")
    good = {"path": str(offered), "sha256": hashlib.sha256(b"PLAN FROM ELSEWHERE").hexdigest(), "key": k,
            "built": {"build_ms": 184708.0}, "from": "jetson01"}
    assert cache.adopt(k, [dict(good, key=dict(k, precision="int8"))]) is None   # built for another key
    assert cache.adopt(k, [dict(good, sha256="0" * 64)]) is None                 # does not hash right
    assert cache.load(k) is None
    built = cache.adopt(k, [good])
    assert built["shared_from"] == "jetson01" and built["build_ms"] == 184708.0
    assert cache.load(k) == b"PLAN FROM ELSEWHERE"


# ---- timing caches passed on by the host (take_timing_cache) -------------------------------------

TIMING_KEY = engine_cache.timing_cache_key("tensorrt", "8.2.1.8", "5.3")


def offered_timing_cache(tmp_path, data=b"TIMING FROM NANO1", **changes):
    path = tmp_path / "offered.timing-cache"
    path.write_bytes(data)
    offer = {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "key": TIMING_KEY, "from": "nano1"}
    offer.update(changes)
    return offer


def test_a_timing_cache_for_another_build_or_gpu_is_not_taken(tmp_path):
    cache = EngineCache(str(tmp_path / "engines"))
    path = cache.timing_cache_path("tensorrt", "8.2.1.8", "5.3")
    for other in (engine_cache.timing_cache_key("tensorrt", "8.2.1.9", "5.3"),
                  engine_cache.timing_cache_key("tensorrt", "8.2.1.8", "7.2"),
                  engine_cache.timing_cache_key("tensorrt_rtx", "8.2.1.8", "5.3"), None):
        said = cache.take_timing_cache(path, TIMING_KEY, offered_timing_cache(tmp_path, key=other))
        assert said["offered_from"] == "nano1" and "shared_from" not in said
        assert "this device runs tensorrt 8.2.1.8 on sm_53" in said["not_taken"]
        assert not os.path.exists(path)


def test_a_timing_cache_that_does_not_hash_right_is_not_taken(tmp_path):
    cache = EngineCache(str(tmp_path / "engines"))
    path = cache.timing_cache_path("tensorrt", "8.2.1.8", "5.3")
    offer = offered_timing_cache(tmp_path, sha256=hashlib.sha256(b"what the host checked").hexdigest())
    said = cache.take_timing_cache(path, TIMING_KEY, offer)
    assert said == {"offered_from": "nano1", "not_taken": "the file offered is missing or does not hash to "
                                                          "what the host checked"}
    missing = dict(offered_timing_cache(tmp_path), path=str(tmp_path / "gone"))
    assert "not_taken" in cache.take_timing_cache(path, TIMING_KEY, missing)
    assert not os.path.exists(path) and not os.path.exists(engine_cache.origin_path(path))


def test_a_devices_own_timing_cache_is_kept(tmp_path):
    cache = EngineCache(str(tmp_path / "engines"))
    path = cache.timing_cache_path("tensorrt", "8.2.1.8", "5.3")
    engine_cache.atomic_write(path, b"THIS DEVICE'S OWN")
    said = cache.take_timing_cache(path, TIMING_KEY, offered_timing_cache(tmp_path))
    assert said == {"offered_from": "nano1", "not_taken": "this device has a timing cache of its own, kept"}
    assert open(path, "rb").read() == b"THIS DEVICE'S OWN"
    assert not os.path.exists(engine_cache.origin_path(path))


def test_a_timing_cache_is_taken_where_there_is_none_and_remembers_where_it_came_from(tmp_path):
    cache = EngineCache(str(tmp_path / "engines"))
    path = cache.timing_cache_path("tensorrt", "8.2.1.8", "5.3")
    offer = offered_timing_cache(tmp_path)
    assert cache.take_timing_cache(path, TIMING_KEY, offer) == {"shared_from": "nano1"}
    assert open(path, "rb").read() == b"TIMING FROM NANO1"
    assert engine_cache.timing_cache_origin(path)["shared_from"] == "nano1"
    assert cache.take_timing_cache(path, TIMING_KEY, offer) == {"shared_from": "nano1"}  # offered again: same bytes
    assert cache.take_timing_cache(path, TIMING_KEY, None) == {}

    # The build seeded with it: the fact says whose it was.
    fact = engine_cache.record_timing_cache(path, TIMING_KEY, b"TIMING FROM NANO1+mine", True, {"shared_from": "nano1"})
    assert fact["shared_from"] == "nano1" and "started_from" not in fact
    assert fact["sha256"] == hashlib.sha256(b"TIMING FROM NANO1+mine").hexdigest()
    engine_cache.atomic_write(path, b"TIMING FROM NANO1+mine")
    # A later build on this device, its cache grown since: not the offered bytes, and says so.
    said = cache.take_timing_cache(path, TIMING_KEY, offer)
    assert said["not_taken"] == "this device's timing cache, which started from nano1's, has grown since; kept"
    assert open(path, "rb").read() == b"TIMING FROM NANO1+mine"
    fact = engine_cache.record_timing_cache(path, TIMING_KEY, b"...", True, said)
    assert fact["started_from"] == "nano1" and fact["reused"] is True
    # A build that started from nothing (the cache was deleted): the old origin is forgotten.
    fact = engine_cache.record_timing_cache(path, TIMING_KEY, b"new", False, {})
    assert "started_from" not in fact and engine_cache.timing_cache_origin(path) == {}


def test_a_timing_cache_taken_half_way_leaves_no_file(tmp_path, monkeypatch):
    cache = EngineCache(str(tmp_path / "engines"))
    path = cache.timing_cache_path("tensorrt", "8.2.1.8", "5.3")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine_cache.os, "fsync", disk_full)
    with pytest.raises(OSError):
        cache.take_timing_cache(path, TIMING_KEY, offered_timing_cache(tmp_path))
    assert os.listdir(os.path.dirname(path)) == []  # neither a part of the cache nor a temporary file
