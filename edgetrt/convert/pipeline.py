"""Host conversion: a model source → an artifact directory (SavedModel + ONNX + manifest).

Artifacts are cached by content: the key covers the model, the weights, the requested formats,
the recipe and the tool versions, so an unchanged deploy re-uses the directory it made before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgetrt import __version__
from edgetrt.config import paths
from edgetrt.convert.artifacts import Artifact, ArtifactWriter
from edgetrt.convert.sources import ModelOptions, ModelSource
from edgetrt.lazy import tool_versions
from edgetrt.errors import ModelFileError, UsageError
from edgetrt.hashing import sha256_file, tree_sha256
from edgetrt.zoo.weights import WeightsChoice

Progress = Callable[[str], None]
DEFAULT_FORMATS = ("savedmodel", "onnx")
KNOWN_FORMATS = ("savedmodel", "onnx", "onnx_fp16", "onnx_int8", "tftrt_fp32", "tftrt_fp16", "tftrt_int8")
TFTRT_PREFIX = "tftrt_"  # tftrt_<precision>/: a TF-TRT SavedModel made from the artifact's saved_model/


@dataclass(frozen=True)
class ConvertResult:
    artifact: Artifact
    cached: bool
    seconds: float


def cache_key(source: ModelSource, weights: WeightsChoice) -> str:
    """What the artifact is made from: the model (a user file or directory by content), the
    weights, the recipe and the tool versions. Formats are not in it: one directory per model
    grows the formats asked of it."""
    material = {
        "edgetrt": __version__,
        "source": source.to_dict(),
        "weights": {"mode": weights.mode,
                    "sha256": sha256_file(weights.path) if weights.path else None},
        "tools": tool_versions(),
    }
    if source.path and source.path.is_file():
        material["file_sha256"] = sha256_file(source.path)
    elif source.path and source.path.is_dir():
        material["tree_sha256"] = tree_sha256(source.path)
    if source.request:
        material["recipe"] = Path(source.request.recipe.source).read_text()
    blob = json.dumps(material, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


def convert(source: ModelSource, weights: WeightsChoice, *, out_dir: Path | None = None,
            formats=DEFAULT_FORMATS, force: bool = False, progress: Progress | None = None,
            calibration_images: Path | None = None, tftrt=None) -> ConvertResult:
    """Convert, or return the cached artifact for exactly these inputs.

    tftrt: edgetrt.convert.tftrt.TftrtSettings for the tftrt_* formats (its precision is replaced
    by each format's own).
    """
    say = progress or (lambda stage: None)
    formats = tuple(dict.fromkeys(formats))
    for fmt in formats:
        if fmt not in KNOWN_FORMATS:
            raise UsageError(f"unknown artifact format {fmt!r}; known: {', '.join(KNOWN_FORMATS)}")
    tftrt_wanted = _tftrt_requests(formats, tftrt)
    if tftrt_wanted:
        if source.kind == "onnx":
            raise UsageError("TF-TRT converts TensorFlow models; an ONNX file has no SavedModel to convert")
        from edgetrt.convert.tftrt import require_tftrt

        require_tftrt()  # fail before building anything when this TensorFlow has no TensorRT
        formats = tuple(dict.fromkeys(("savedmodel",) + formats))
    if source.kind == "onnx":
        formats = tuple(f for f in formats if f != "savedmodel")
    started = time.monotonic()
    # One directory per model grows the formats asked of it, so `deploy --backend onnxruntime`
    # reuses what `deploy` converted.
    key = cache_key(source, weights)
    calibration = _calibration_digest(calibration_images) if "onnx_int8" in formats else None
    target = Path(out_dir) if out_dir else paths.cache_home() / "artifacts" / paths.cache_dir_name(source.name, key)
    reuse = None  # (cached artifact, the forms of it to carry over) when only derived forms are missing
    if (target / "manifest.json").is_file():
        try:
            cached = Artifact.open(target)
        except ModelFileError:
            cached = None  # unreadable leftovers: convert afresh below
        if cached is not None and cached.manifest.get("cache_key") == key:
            have = set(cached.manifest.get("formats", {}))
            int8_ok = calibration is None or (cached.manifest.get("int8") or {}).get("calibration_digest") == calibration
            done_tftrt = cached.manifest.get("tftrt") or {}
            stale_tftrt = {f"{TFTRT_PREFIX}{p}" for p, s in tftrt_wanted.items()
                           if (done_tftrt.get(p) or {}).get("settings") != s.to_dict()}
            if not force and set(formats) <= have and int8_ok and not stale_tftrt:
                say("cached")
                return ConvertResult(cached, True, time.monotonic() - started)
            if not force:
                keep = have - ({"onnx_int8"} if not int8_ok else set()) - stale_tftrt
                formats = tuple(dict.fromkeys(tuple(sorted(keep)) + formats))
                if all(f in keep or _made_from(f) in keep for f in formats):
                    reuse = (cached, keep)

    # Keras and tf2onnx print progress to stdout; stdout belongs to the caller (--json).
    with ArtifactWriter(target) as writer, contextlib.redirect_stdout(sys.stderr):
        if reuse is not None:
            # Only forms made from forms already here are missing (an INT8 or FP16 model from the
            # ONNX one, TF-TRT from the SavedModel): no TensorFlow model is built again.
            manifest = _carry_over(reuse[0], reuse[1], writer.dir)
            _onnx_forms_into(writer.dir, manifest, [f for f in formats if f not in reuse[1]], say,
                             calibration_images, source.preprocessing)
        else:
            manifest = _convert_into(writer.dir, source, weights, formats, say, calibration_images)
        tftrt_todo = {p: s for p, s in tftrt_wanted.items()
                      if reuse is None or f"{TFTRT_PREFIX}{p}" not in reuse[1]}
        if tftrt_todo:
            _convert_tftrt_into(writer.dir, manifest, tftrt_todo, say, calibration_images, source)
        manifest["cache_key"] = key
        manifest["tools"] = {**tool_versions(), "edgetrt": __version__}
        manifest["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        say("hashing")
        artifact = writer.finish(manifest)
    return ConvertResult(artifact, False, time.monotonic() - started)


def convert_model(opts: ModelOptions, formats=DEFAULT_FORMATS, *, out_dir: Path | None = None,
                  progress: Progress | None = None, tftrt=None) -> ConvertResult:
    """Resolve what the user named and convert it (cached by content); see :func:`convert`."""
    return convert(opts.resolve(), WeightsChoice.parse(opts.weights), out_dir=out_dir, formats=formats,
                   force=opts.force, progress=progress, calibration_images=opts.calibration_images,
                   tftrt=tftrt)


def _tftrt_requests(formats, settings) -> dict:
    """precision -> TftrtSettings for every tftrt_<precision> format asked for."""
    import dataclasses

    precisions = [f[len(TFTRT_PREFIX):] for f in formats if f.startswith(TFTRT_PREFIX)]
    if not precisions:
        return {}
    from edgetrt.convert.tftrt import TftrtSettings

    base = settings or TftrtSettings()
    return {p: dataclasses.replace(base, precision=p) for p in precisions}


def _convert_tftrt_into(work: Path, manifest: dict, wanted: dict, say, calibration_images, source) -> None:
    from edgetrt.convert.tftrt import convert_tftrt

    shape = manifest["inputs"][0]["shape"][1:] if manifest.get("inputs") else None
    for precision, settings in wanted.items():
        say(f"TF-TRT {precision} (TrtGraphConverterV2)")
        fmt = f"{TFTRT_PREFIX}{precision}"
        result = convert_tftrt(work / "saved_model", work / fmt, settings, calibration_images=calibration_images,
                               input_shape=tuple(shape) if shape else None, preprocessing=source.preprocessing)
        manifest["formats"][fmt] = fmt
        manifest.setdefault("tftrt", {})[precision] = result


def _calibration_digest(directory: Path | None) -> str | None:
    """The calibration images by content (the top level: what image_files() reads)."""
    return tree_sha256(Path(directory), "*") if directory else None


def _convert_into(work: Path, source: ModelSource, weights: WeightsChoice, formats, say,
                  calibration_images) -> dict:
    from edgetrt.convert import tf_export

    manifest: dict = {"model": source.name, "source": source.to_dict(), "formats": {}}
    weights_used = None
    if source.kind == "onnx":
        say("checking ONNX")
        from edgetrt.convert.onnx_file import copy_checked_onnx

        copy_checked_onnx(source.path, work / "model.onnx")
        manifest["formats"]["onnx"] = "model.onnx"
        manifest["weights"] = {"requested": weights.mode, "kind": "file",
                               "path": str(source.path), "sha256": sha256_file(source.path)}
    else:
        say("building the TensorFlow model")
        module, input_shape, weights_used = _serving_module_for(source, weights)
        input_signature = _signature_of(module)
        if "savedmodel" in formats:
            say("saving the SavedModel")
            tf_export.save_savedmodel(module, work / "saved_model")
            manifest["formats"]["savedmodel"] = "saved_model"
        if "onnx" in formats or "onnx_int8" in formats or "onnx_fp16" in formats:
            say("converting to ONNX (tf2onnx)")
            tf_export.function_to_onnx(module.serve, input_signature, work / "model.onnx")
            manifest["formats"]["onnx"] = "model.onnx"
        manifest["weights"] = weights_used.to_dict()
    _onnx_forms_into(work, manifest, formats, say, calibration_images, source.preprocessing)
    if "onnx" in manifest["formats"]:
        inputs, outputs = tf_export.onnx_io(work / "model.onnx")
    else:
        inputs, outputs = _savedmodel_io(module)
    manifest["inputs"] = inputs
    manifest["outputs"] = outputs
    from edgetrt.convert.sources import image_layout

    shape = inputs[0]["shape"] if inputs else None
    layout = source.layout or image_layout(shape)
    size = (shape[1] if layout == "NHWC" else shape[2]) if layout and len(shape) == 4 else None
    # layout None: the input is not an image (no photos to feed it, no accuracy agreement).
    manifest["preprocessing"] = {"mode": source.preprocessing, "layout": layout, "color": "RGB",
                                 "input_size": [size, size] if size else None}
    if source.kind == "zoo":
        manifest["classes"] = source.request.recipe.classes
    return manifest


def _onnx_forms_into(work: Path, manifest: dict, formats, say, calibration_images, preprocessing: str) -> None:
    """The forms made from model.onnx that ``formats`` asks for: FP16 and the Q/DQ INT8 model."""
    if "onnx_fp16" in formats:
        # For strongly typed TensorRT (11, TensorRT-RTX): FP16 lives in the model, I/O kept FP32.
        say("converting to FP16 ONNX (onnxconverter-common, FP32 inputs and outputs)")
        from edgetrt.convert.fp16 import make_fp16_onnx

        manifest["fp16"] = make_fp16_onnx(work / "model.onnx", work / "model.fp16.onnx")
        manifest["formats"]["onnx_fp16"] = "model.fp16.onnx"
    if "onnx_int8" in formats:
        say("quantizing to INT8 (QDQ)")
        from edgetrt.convert.quantize import quantize_qdq

        manifest["int8"] = quantize_qdq(work / "model.onnx", work / "model.int8.onnx",
                                        calibration_images, preprocessing,
                                        weights_kind=manifest["weights"]["kind"])
        manifest["int8"]["calibration_digest"] = _calibration_digest(calibration_images)
        manifest["formats"]["onnx_int8"] = "model.int8.onnx"


#: (form made from the ONNX model, the manifest's block that describes it: dropped with the form)
_ONNX_MADE_FORMS = (("onnx_fp16", "fp16"), ("onnx_int8", "int8"))


def _made_from(fmt: str) -> str | None:
    """The form ``fmt`` is made from, when it is made from another form rather than the model."""
    if any(fmt == made for made, _ in _ONNX_MADE_FORMS):
        return "onnx"
    if fmt.startswith(TFTRT_PREFIX):
        return "savedmodel"
    return None


def _carry_over(cached: Artifact, keep: set, work: Path) -> dict:
    """The cached artifact's ``keep`` forms into ``work`` (hard links: artifact files are never
    written again), and its manifest without what described the other forms."""
    import os
    import shutil

    paths_kept = [cached.manifest["formats"][f] for f in keep]
    for entry in cached.files:
        if any(entry["path"] == p or entry["path"].startswith(p + "/") for p in paths_kept):
            dst = work / entry["path"]
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(cached.path / entry["path"], dst)
            except OSError:
                shutil.copy2(cached.path / entry["path"], dst)
    manifest = {k: v for k, v in cached.manifest.items()
                if k not in ("files", "schema", "cache_key", "tools", "created")}
    manifest["formats"] = {f: p for f, p in cached.manifest["formats"].items() if f in keep}
    for fmt, block in _ONNX_MADE_FORMS:
        if fmt not in keep:
            manifest.pop(block, None)
    if "tftrt" in manifest:
        manifest["tftrt"] = {p: r for p, r in manifest["tftrt"].items() if f"{TFTRT_PREFIX}{p}" in keep}
        if not manifest["tftrt"]:
            del manifest["tftrt"]
    return manifest


def _signature_of(module):
    return list(module.serve.input_signature)


def _savedmodel_io(module):
    spec = module.serve.input_signature[0]
    outputs = module.serve.get_concrete_function().structured_outputs
    inputs = [{"name": spec.name, "shape": [-1 if d is None else d for d in spec.shape],
               "dtype": spec.dtype.name}]
    outs = [{"name": k, "shape": [-1 if d is None else d for d in v.shape], "dtype": v.dtype.name}
            for k, v in sorted(outputs.items())]
    return inputs, outs


def _serving_module_for(source: ModelSource, weights: WeightsChoice):
    from edgetrt.convert import tf_export
    from edgetrt.zoo.keras_builder import WeightsUsed

    if source.kind == "zoo":
        from edgetrt.zoo.keras_builder import build_keras_model

        model, used = build_keras_model(source.request, weights)
        return tf_export.serving_module(model, source.request.input_shape), source.request.input_shape, used
    if weights.mode == "file":
        raise UsageError("--weights PATH applies to zoo models; a model file carries its own weights")
    file_weights = WeightsUsed(weights.mode, "file", str(source.path),
                               sha256_file(source.path) if source.path.is_file() else None)
    from edgetrt.convert import user_models

    if source.kind == "keras":
        module, shape = user_models.keras_file_module(source)
    elif source.kind == "savedmodel":
        module, shape = user_models.savedmodel_module(source)
    elif source.kind == "frozen_graph":
        module, shape = user_models.frozen_graph_module(source)
    else:  # pragma: no cover - resolve_source only makes the kinds above
        raise UsageError(f"cannot convert a {source.kind} source")
    return module, shape, file_weights
