"""How far an optimized backend's predictions are from native TensorFlow's, on real images.

The reference is the same device's tf fp32 cell; failing that (a Jetson matrix of TensorRT cells
only), native TensorFlow run on this host through the local agent, whose predictions are cached
by (artifact, images, TensorFlow version) so an unchanged bench does not start TensorFlow again.
With random weights every class scores about 0.001 and any two runs "agree": such a figure means
nothing, so it is marked ``meaningful: false`` and shown as n/a.
"""

from __future__ import annotations

import hashlib
import json

REFERENCE = ("tf", "fp32")


def agreement(reference: list[dict], candidate: list[dict]) -> dict | None:
    """Fractions against the reference: top-1 agreement, mean top-5 overlap, max |Δp|.

    Each list holds one entry per image: {"top": [[class, prob], ...], "output": [p0, p1, ...]}.
    """
    if not reference or not candidate or len(reference) != len(candidate):
        return None
    top1 = overlap = 0.0
    max_diff = 0.0
    for ref, cand in zip(reference, candidate):
        ref_top = [c for c, _ in ref["top"][:5]]
        cand_top = [c for c, _ in cand["top"][:5]]
        top1 += ref_top[0] == cand_top[0]
        overlap += len(set(ref_top) & set(cand_top)) / max(len(ref_top), 1)
        ref_out, cand_out = ref.get("output"), cand.get("output")
        if ref_out and cand_out and len(ref_out) == len(cand_out):
            max_diff = max(max_diff, max(abs(a - b) for a, b in zip(ref_out, cand_out)))
    n = len(reference)
    return {"images": n, "top1": top1 / n, "top5_overlap": overlap / n, "max_abs_diff": max_diff}


def _valid(predictions) -> bool:
    return isinstance(predictions, list) and all(
        isinstance(p, dict) and isinstance(p.get("top"), list) and p["top"] for p in predictions)


def add_agreement(plan, runs, conversions, images, progress) -> None:
    """Fill every optimized cell's ``agreement``; keep only the top-5 per photo in ``predictions``."""
    host_reference: dict = {}
    for run in runs:
        by_key = {(r.model, r.backend, r.precision, r.batch): r for r in run.results}
        for i, result in enumerate(run.results):
            conversion = next((c for c in conversions.values() if c.artifact is not None
                               and c.artifact.manifest["model"] == result.model), None)
            mine = result.predictions if _valid(result.predictions) else None
            value = None
            if (result.backend, result.precision) != REFERENCE and mine and conversion is not None:
                ref = by_key.get((result.model, *REFERENCE, result.batch)) or by_key.get((result.model, *REFERENCE, 1))
                label = "tf fp32"
                ref_predictions = ref.predictions if ref is not None and _valid(ref.predictions) else None
                if ref_predictions is None:
                    if result.model not in host_reference:
                        host_reference[result.model] = host_predictions(conversion.artifact, images, progress)
                    ref_predictions, label = host_reference[result.model], "tf fp32 on the host"
                value = agreement(ref_predictions, mine) if ref_predictions else None
                if value is not None:
                    weights = conversion.artifact.manifest.get("weights") or {}
                    value.update(reference=label, meaningful=weights.get("kind") != "random")
                    if not value["meaningful"]:
                        value["why"] = "random weights: every class scores about the same, so any two runs agree"
            compact = [{"image": name, "top5": p["top"][:5]} for name, p in zip(images.names(), mine)] \
                if mine else None
            run.results[i] = result.with_(agreement=value, predictions=compact)


def _reference_key(artifact, images, tf_version: str | None) -> str:
    """What the reference predictions are made from: the SavedModel's files (not the whole
    artifact: a form added later, an INT8 model say, leaves the reference as it was), the photos
    and TensorFlow's version."""
    saved_model = artifact.manifest["formats"]["savedmodel"]
    material = {"artifact": artifact.manifest.get("cache_key") or str(artifact.path),
                "files": [f["sha256"] for f in artifact.files
                          if f["path"] == saved_model or f["path"].startswith(saved_model + "/")],
                "images": images.names(),
                "image_bytes": [hashlib.sha256(p.read_bytes()).hexdigest() for p in images.files],
                "tensorflow": tf_version}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:24]


def host_predictions(artifact, images, progress) -> list | None:
    """Native TensorFlow's predictions on this host (a separate process: the local agent), cached."""
    from edgetrt.config import paths
    from edgetrt.config.devices import DeviceSpec
    from edgetrt.config.profiles import load_profiles
    from edgetrt.device.session import open_session
    from edgetrt.errors import EdgetrtError
    from edgetrt.lazy import tool_versions
    from edgetrt.run.execute import artifact_files, directory_id

    if not artifact.has_format("savedmodel"):
        return None
    versions = tool_versions()
    tf_version = versions.get("tensorflow-cpu") or versions.get("tensorflow")
    if tf_version is None:
        return None
    cache = paths.cache_home() / "references" / f"{_reference_key(artifact, images, tf_version)}.json"
    try:
        return json.loads(cache.read_text())
    except (OSError, ValueError):
        pass
    progress.stage(f"native TensorFlow on this host for {artifact.manifest['model']} (the reference)")
    host = DeviceSpec(name="this host", profile="local", facts=load_profiles()["local"])
    try:
        with open_session(host) as session:
            files, entries = artifact_files(artifact, ["savedmodel"])
            tensor = images.tensor_file(artifact.manifest)
            _, remote_dir = session.upload_artifact(files + [tensor], directory_id(entries), entries)
            result = session.run({"backend": "tf", "precision": "fp32", "batch": 1, "artifact_dir": remote_dir,
                                  "images_npy": session.store_path(tensor.sha256), "warmup_ms": 0,
                                  "min_iterations": 1, "min_seconds": 0}, timeout_s=600)
    except EdgetrtError as exc:
        progress.warn(f"no reference predictions on this host: {exc}")
        return None
    if not result.ok or not _valid(result.predictions):
        return None
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(result.predictions))
    tmp.replace(cache)
    return result.predictions
