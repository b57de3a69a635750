"""`edgetrt bench`: models × backends × precisions × batches, one supervised agent run per cell.

Every cell ends with its own status, so one OOM does not stop the matrix. The same deploy path is
used for the host (device `local`) and a Jetson (`--remote` / `--device`).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgetrt.bench.agreement import agreement
from edgetrt.bench.images import default_images_dir, image_files, load_images
from edgetrt.bench.plan import RunSpec
from edgetrt.errors import EdgetrtError, TransportError
from edgetrt.progress import Progress

SCHEMA = "edgetrt.bench/1"
REFERENCE = ("tf", "fp32")  # agreement is measured against native TensorFlow

# Which artifact file a cell runs, for the size columns (original vs optimized).
_FORMAT_FOR = {("tf", "fp32"): "savedmodel", ("onnxruntime", "fp32"): "onnx",
               ("onnxruntime", "fp16"): "onnx", ("onnxruntime", "int8"): "onnx_int8",
               ("tensorrt", "fp32"): "onnx", ("tensorrt", "fp16"): "onnx", ("tensorrt", "int8"): "onnx_int8"}


@dataclass(frozen=True)
class ImageSet:
    files: tuple[Path, ...]

    @classmethod
    def from_dir(cls, directory: Path | None) -> "ImageSet":
        return cls(tuple(image_files(directory or default_images_dir())))

    def names(self) -> list[str]:
        return [f.name for f in self.files]

    def tensor_file(self, size: int, mode: str, cache_dir: Path):
        """Preprocessed images as a .npy on the host (content-addressed), for the device."""
        from edgetrt.device.store import LocalFile

        batch = load_images(list(self.files), size, mode)
        data_hash = hashlib.sha256(batch.tobytes() + str(batch.shape).encode()).hexdigest()
        cache_dir.mkdir(parents=True, exist_ok=True)
        path = cache_dir / f"images-{data_hash[:16]}.npy"
        if not path.is_file():
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, batch)
            tmp.replace(path)
        return LocalFile.from_path(path)


def _bytes_of(artifact, fmt: str | None) -> int | None:
    if not fmt or not artifact.has_format(fmt):
        return None
    rel = artifact.manifest["formats"][fmt]
    return sum(f["bytes"] for f in artifact.files if f["path"] == rel or f["path"].startswith(rel + "/"))


def make_cell(model: str, run: RunSpec, result: dict, artifact, image_names: list[str]) -> dict:
    facts = result.get("facts") or {}
    original_fmt = "savedmodel" if artifact.has_format("savedmodel") else "onnx"
    artifact_bytes = facts.get("engine_bytes") or _bytes_of(artifact, _FORMAT_FOR.get((run.backend, run.precision)))
    predictions = None
    if result.get("predictions"):
        predictions = [{"image": name, "top5": p["top"][:5]}
                       for name, p in zip(image_names, result["predictions"])]
    steady = result.get("steady")
    return {
        "model": model,
        "backend": run.backend,
        "precision": run.precision,
        "batch": run.batch,
        "status": result.get("status", "error"),
        "first_run_ms": result.get("first_run_ms"),
        "load_ms": result.get("load_ms"),
        "build_ms": facts.get("build_ms"),
        "engine": facts.get("engine"),
        "steady": steady,
        "peak_memory_mb": result.get("peak_memory_mb"),
        "artifact_bytes": artifact_bytes,
        "original_bytes": _bytes_of(artifact, original_fmt),
        "message": result.get("message") or "",
        "agreement": None,
        "predictions": predictions,
        "profile": result.get("profile"),
        "facts": facts,
        "harness_overhead_us": result.get("harness_overhead_us"),
        "tegrastats": result.get("tegrastats"),
    }


def add_agreement(cells: list[dict], raw: dict, host_reference: dict | None = None) -> None:
    """Fill each optimized cell's agreement with native TF's predictions on the same images.

    The reference is the matrix's own tf fp32 cell; failing that, native TF run on the host
    (``host_reference``: model → predictions), e.g. for a Jetson matrix of TensorRT cells only.
    """
    for cell in cells:
        if (cell["backend"], cell["precision"]) == REFERENCE:
            continue
        ref = raw.get((cell["model"], *REFERENCE, cell["batch"])) or raw.get((cell["model"], *REFERENCE, 1))
        label = "tf fp32"
        if not ref and host_reference:
            ref, label = host_reference.get(cell["model"]), "tf fp32 on the host"
        mine = raw.get((cell["model"], cell["backend"], cell["precision"], cell["batch"]))
        if ref and mine:
            cell["agreement"] = agreement(ref, mine)
            cell["agreement"]["reference"] = label


def host_reference_predictions(artifact, images_npy: Path, timeout_s: float = 600) -> list | None:
    """Native TensorFlow's predictions on this host, through the local agent (a separate process)."""
    import sys

    from edgetrt.agent.supervise import run_supervised

    if not artifact.has_format("savedmodel"):
        return None
    spec = {"backend": "tf", "precision": "fp32", "batch": 1, "artifact_dir": str(artifact.path),
            "images_npy": str(images_npy), "warmup_ms": 0, "min_iterations": 1, "min_seconds": 0}
    result = run_supervised([sys.executable, "-m", "edgetrt.agent"], spec, timeout_s=timeout_s)
    return result.get("predictions") if result.get("status") == "ok" else None


def run_matrix(models, session, device, runs: list[RunSpec], formats, *, convert_model, images: ImageSet,
               measure, profile: bool, progress: Progress, cache_dir: Path, backend_options=lambda b: {}) -> tuple[list[dict], dict]:
    """Run every cell; return (cells, per-model conversion facts)."""
    cells: list[dict] = []
    raw_predictions: dict = {}
    host_reference: dict = {}
    needs_host_reference = not any((r.backend, r.precision) == REFERENCE for r in runs)
    conversions: dict = {}
    total = len(models) * len(runs)
    progress.start_steps(total, f"bench on {session.transport.name}")
    for model_opts in models:
        # TF-TRT needs a TensorRT-enabled TensorFlow on the host; converting it separately keeps
        # its failure to the tftrt cells instead of the whole model.
        base_formats = tuple(f for f in formats if not f.startswith("tftrt_"))
        tftrt_formats = tuple(f for f in formats if f.startswith("tftrt_"))
        tftrt_error = None
        try:
            converted = convert_model(model_opts, base_formats)
            if tftrt_formats:
                try:
                    converted = convert_model(model_opts, base_formats + tftrt_formats)
                except EdgetrtError as exc:
                    tftrt_error = f"TF-TRT conversion failed: {exc}" + (f" ({exc.hint})" if exc.hint else "")
        except EdgetrtError as exc:
            for run in runs:
                cells.append(_failed_cell(model_opts.model, run, "error", f"conversion failed: {exc}"))
                progress.step_done(f"{model_opts.model} {run.backend} {run.precision}: error")
            continue
        artifact = converted.artifact
        model = artifact.manifest["model"]
        conversions[model] = {"artifact_dir": str(artifact.path), "cached": converted.cached,
                              "seconds": converted.seconds, "weights": artifact.manifest.get("weights")}
        size = artifact.manifest["inputs"][0]["shape"][1]
        tensor = images.tensor_file(size, artifact.manifest["preprocessing"]["mode"], cache_dir)
        uploaded = session.upload(artifact, extra_files=[tensor])
        conversions[model]["transfer"] = uploaded.transfer.to_dict()
        images_on_device = session.store.store_path(tensor.sha256)
        if needs_host_reference:
            host_reference[model] = host_reference_predictions(artifact, tensor.path)
        for run in runs:
            if run.backend == "tftrt" and tftrt_error:
                cells.append(_failed_cell(model, run, "error", tftrt_error))
                progress.step_done(f"{model} {run.backend} {run.precision} b{run.batch}: error")
                continue
            options = dict(backend_options(run.backend), **({"profile": profile} if profile else {}))
            if run.backend == "tensorrt" and run.precision == "int8":
                # Implicit-INT8 calibration (TensorRT <= 10) when the artifact has no QDQ model.
                options["calibration_npy"] = images_on_device
            spec = dict(run.to_agent(), artifact_dir=uploaded.remote_dir, **measure.agent_settings(),
                        images_npy=images_on_device, options=options)
            try:
                result = session.run(spec, measure.timeout_s, measure.memory_limit_mb)
            except TransportError:
                raise  # the device is gone: the matrix cannot go on
            except EdgetrtError as exc:
                result = {"status": "error", "message": str(exc)}
            cell = make_cell(model, run, result, artifact, images.names())
            cells.append(cell)
            if result.get("predictions"):
                raw_predictions[(model, run.backend, run.precision, run.batch)] = result["predictions"]
            progress.step_done(f"{model} {run.backend} {run.precision} b{run.batch}: {cell['status']}")
    add_agreement(cells, raw_predictions, host_reference)
    return cells, conversions


def _failed_cell(model: str, run: RunSpec, status: str, message: str) -> dict:
    return {"model": model, "backend": run.backend, "precision": run.precision, "batch": run.batch,
            "status": status, "first_run_ms": None, "load_ms": None, "build_ms": None, "engine": None,
            "steady": None, "peak_memory_mb": None, "artifact_bytes": None, "original_bytes": None,
            "message": message, "agreement": None, "predictions": None, "profile": None}


def timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
