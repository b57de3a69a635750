"""What the CLI and scripts call. Returns plain values (JSON-ready dicts); raises EdgetrtError."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from edgetrt import __version__
from edgetrt.bench.plan import (BACKENDS, PRECISIONS, default_backends, default_precisions, parse_batches,
                                parse_list, plan_runs)
from edgetrt.config.devices import DeviceSpec, load_device, load_devices
from edgetrt.device.connect import ConnectOptions
from edgetrt.progress import NULL_PROGRESS, Progress
from edgetrt.zoo.weights import WeightsChoice

REPORT_SCHEMA = "edgetrt.report/1"


@dataclass(frozen=True)
class ModelOptions:
    """How to turn a name or file into an artifact."""

    model: str
    weights: str = "auto"
    alpha: float | None = None
    input_size: int | None = None
    input_names: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    preprocessing: str | None = None
    force: bool = False
    calibration_images: Path | None = None


@dataclass(frozen=True)
class MeasureOptions:
    warmup_ms: float = 200.0
    min_iterations: int = 10
    min_seconds: float = 3.0
    timeout_s: float = 600.0
    memory_limit_mb: int | None = None
    extra: dict = field(default_factory=dict)

    def agent_settings(self) -> dict:
        return {"warmup_ms": self.warmup_ms, "min_iterations": self.min_iterations,
                "min_seconds": self.min_seconds, **self.extra}

    def report_settings(self) -> dict:
        """The method, as recorded in every report."""
        return {"warmup_ms": self.warmup_ms, "min_iterations": self.min_iterations,
                "min_seconds": self.min_seconds, "timeout_s": self.timeout_s,
                "memory_limit_mb": self.memory_limit_mb,
                "percentiles": "linear interpolation between closest ranks (numpy default)"}


def list_models() -> list[dict]:
    from edgetrt.zoo.registry import zoo_listing

    return zoo_listing()


def list_devices() -> list[dict]:
    return [d.to_dict() for d in load_devices().values()]


def resolve_source(opts: ModelOptions):
    from edgetrt.convert.sources import resolve_source as _resolve

    return _resolve(opts.model, alpha=opts.alpha, input_size=opts.input_size,
                    input_names=list(opts.input_names), output_names=list(opts.output_names),
                    preprocessing=opts.preprocessing)


def convert_model(opts: ModelOptions, formats=("savedmodel", "onnx"), out_dir: Path | None = None,
                  progress: Progress = NULL_PROGRESS, tftrt=None):
    """``tftrt``: edgetrt.convert.tftrt.TftrtSettings for tftrt_* formats (defaults when None)."""
    from edgetrt.convert.pipeline import convert

    source = resolve_source(opts)
    weights = WeightsChoice.parse(opts.weights)
    result = convert(source, weights, out_dir=out_dir, formats=formats, force=opts.force,
                     progress=progress.stage, calibration_images=opts.calibration_images, tftrt=tftrt)
    warning = (result.artifact.manifest.get("weights") or {}).get("warning")
    if warning:
        progress.warn(warning)
    return result


def convert_in_container(opts: ModelOptions, tftrt, *, container: str, device_name: str | None,
                         out: Path | None, dry_run: bool) -> dict:
    """TF-TRT inside an NGC TensorFlow container: pick the tag, build the docker command, run it
    unless ``dry_run``. Returns the plan (container facts, warnings, argv, command line)."""
    import os

    from edgetrt.config import paths
    from edgetrt.convert import ngc_container as ngc
    from edgetrt.errors import UsageError

    if container == "auto":
        if not device_name:
            raise UsageError("--container auto matches the container's TensorRT to a device: add --device NAME")
        choice = ngc.pick_container(load_device(device_name).facts.get("tensorrt"), tf_major=2)
    else:
        choice = ngc.named_container(container)
    workdir = Path.cwd()
    target = out or workdir / "tftrt-artifacts" / Path(opts.model).name
    inner = ngc.inner_convert_args(
        opts.model, workdir, target, tftrt, weights=opts.weights, calibration_images=opts.calibration_images,
        force=opts.force, options={"--alpha": opts.alpha, "--input-size": opts.input_size,
                                   "--input": list(opts.input_names) or None,
                                   "--output": list(opts.output_names) or None,
                                   "--preprocessing": opts.preprocessing})
    plan = ngc.plan_container_convert(choice, inner, workdir, paths.SOURCE_ROOT, os.getuid(), os.getgid())
    plan["out"] = str(target)
    if not dry_run:
        ngc.run_in_container(plan["command"], choice.image)
    return plan


def artifact_summary(artifact) -> list[dict]:
    return [{"path": str(artifact.path / f["path"]), "sha256": f["sha256"], "bytes": f["bytes"]}
            for f in artifact.files]


def convert_report(result) -> dict:
    manifest = result.artifact.manifest
    return {
        "schema": "edgetrt.convert/1",
        "model": manifest["model"],
        "weights": manifest.get("weights"),
        "artifact_dir": str(result.artifact.path),
        "cached": result.cached,
        "seconds": result.seconds,
        "formats": manifest.get("formats"),
        "inputs": manifest.get("inputs"),
        "outputs": manifest.get("outputs"),
        "preprocessing": manifest.get("preprocessing"),
        "tools": manifest.get("tools"),
        "artifacts": artifact_summary(result.artifact),
    }


def host_facts() -> dict:
    return {"hostname": platform.node(), "python": platform.python_version(),
            "machine": platform.machine(), "edgetrt": __version__}


def deploy(model: ModelOptions, device_name: str, *, backends: str | None = None,
           precisions: str | None = None, batches: str | None = None, force_int8: bool = False,
           measure: MeasureOptions = MeasureOptions(), connect: ConnectOptions = ConnectOptions(),
           progress: Progress = NULL_PROGRESS) -> dict:
    """Convert (cached), upload, probe, run; return the report dict."""
    from edgetrt.device.connect import open_session, remote_root_for

    device = load_device(device_name)
    remote_root_for(device, connect)  # a bad root is refused before converting anything
    backend_list = parse_list(backends, BACKENDS, "backend") or default_backends(device)
    precision_list = parse_list(precisions, PRECISIONS, "precision") or default_precisions(device)
    runs, warnings, formats = plan_runs(device, backend_list, precision_list, parse_batches(batches),
                                        force_int8=force_int8)
    for w in warnings:
        progress.warn(w)

    progress.stage(f"converting {model.model}")
    converted = convert_model(model, formats=formats, progress=progress)
    artifact = converted.artifact

    started = time.monotonic()
    with open_session(device, connect) as session:
        address = session.transport.name
        total = sum(f["bytes"] for f in artifact.files)
        progress.start_bytes(total, f"uploading to {address}")
        uploaded = session.upload(artifact, progress=progress.advance_bytes)
        progress.stage(f"probing {address}")
        facts = session.probe()
        progress.start_steps(len(runs), f"measuring on {address}")
        results = []
        for run in runs:
            spec = dict(run.to_agent(), artifact_dir=uploaded.remote_dir, **measure.agent_settings(),
                        options=backend_options(run.backend, session.root, facts, force_int8))
            result = session.run(spec, measure.timeout_s, measure.memory_limit_mb)
            results.append(normalise_run(result))
            progress.step_done(f"{run.backend} {run.precision} b{run.batch}: {result.get('status')}")
    return {
        "schema": REPORT_SCHEMA,
        "model": artifact.manifest["model"],
        "weights": artifact.manifest.get("weights"),
        "device": dict(device_report(device, facts, address, session.root),
                       agent=session.agent_identity()),
        "host": host_facts(),
        "conversion": {"artifact_dir": str(artifact.path), "cached": converted.cached,
                       "seconds": converted.seconds, "formats": artifact.manifest.get("formats")},
        "artifacts": artifact_summary(artifact),
        "transfer": dict(uploaded.transfer.to_dict(), remote_dir=uploaded.remote_dir),
        "settings": measure.report_settings(),
        "warnings": warnings + ([artifact.manifest["weights"]["warning"]]
                                if (artifact.manifest.get("weights") or {}).get("warning") else []),
        "runs": results,
        "seconds": time.monotonic() - started,
    }


def device_report(device: DeviceSpec, facts: dict, address: str, root: str) -> dict:
    return {"name": device.name, "profile": device.profile, "address": address,
            "remote_root": root, "profile_facts": dict(device.facts), "probe": facts}


_RUN_KEYS = ("backend", "precision", "batch", "status", "first_run_ms", "steady",
             "peak_memory_mb", "message")


def normalise_run(result: dict) -> dict:
    """Every run carries the report's minimum keys, whatever the agent sent."""
    run = {key: result.get(key) for key in _RUN_KEYS}
    run["message"] = run["message"] or ""
    for key, value in result.items():
        if key not in run:
            run[key] = value
    return run


def remote_device_names(device_name: str | None, remote: bool) -> list[str]:
    """--device wins; --remote means the config's remote_devices, else its default_device."""
    if device_name:
        return [device_name]
    if not remote:
        return ["local"]
    from edgetrt.config.settings import load_settings
    from edgetrt.errors import UsageError

    settings = load_settings()
    names = list(settings.remote_devices) or ([settings.default_device] if settings.default_device else [])
    if not names:
        raise UsageError("--remote needs a device: none is configured",
                         hint="pass --device NAME, or set default_device: NAME in "
                              "~/.config/edgetrt/config.yaml")
    return names


def bench(models: list[ModelOptions], *, device_name: str | None = None, remote: bool = False,
          backends: str | None = None, precisions: str | None = None, batches: str | None = None,
          force_int8: bool = False, images: Path | None = None, profile: bool = False,
          measure: MeasureOptions = MeasureOptions(), connect: ConnectOptions = ConnectOptions(),
          progress: Progress = NULL_PROGRESS, save: bool = True) -> list[dict]:
    """Run the matrix on each device; return one bench record per device (saved to history)."""
    from edgetrt.bench.matrix import SCHEMA, ImageSet, run_matrix, timestamp
    from edgetrt.config import paths
    from edgetrt.convert.tf_env import tool_versions
    from edgetrt.device.connect import open_session

    image_set = ImageSet.from_dir(images)
    records = []
    for name in remote_device_names(device_name, remote):
        device = load_device(name)
        backend_list = parse_list(backends, BACKENDS, "backend") or default_backends(device)
        precision_list = parse_list(precisions, PRECISIONS, "precision") or default_precisions(device)
        runs, warnings, formats = plan_runs(device, backend_list, precision_list, parse_batches(batches),
                                            force_int8=force_int8)
        if ("tf", "fp32") not in {(r.backend, r.precision) for r in runs}:
            # Agreement is then measured against native TensorFlow run on this host.
            formats = tuple(dict.fromkeys(formats + ("savedmodel",)))
        for w in warnings:
            progress.warn(w)
        calib = images or image_set.files[0].parent

        def convert_for(opts: ModelOptions, fmts):
            from dataclasses import replace

            progress.stage(f"converting {opts.model}")
            return convert_model(replace(opts, calibration_images=opts.calibration_images or calib),
                                 formats=fmts, progress=progress)

        started = time.monotonic()
        with open_session(device, connect) as session:
            address = session.transport.name
            progress.stage(f"probing {address}")
            facts = session.probe()
            cells, conversions = run_matrix(models, session, device, runs, formats,
                                            convert_model=convert_for, images=image_set,
                                            measure=measure, profile=profile, progress=progress,
                                            cache_dir=paths.cache_home() / "images",
                                            backend_options=lambda b: backend_options(b, session.root, facts,
                                                                                      force_int8))
        record = {
            "schema": SCHEMA,
            "timestamp": timestamp(),
            "device": device_report(device, facts, address, session.root),
            "host": host_facts(),
            "tools": tool_versions(),
            "settings": dict(measure.report_settings(), profile=profile, images=image_set.names(),
                             backends=backend_list, precisions=precision_list,
                             batches=sorted({r.batch for r in runs})),
            "warnings": warnings,
            "conversions": conversions,
            "cells": cells,
            "seconds": time.monotonic() - started,
        }
        from edgetrt.bench import history

        record["run_id"] = history.make_run_id(record)
        if save:
            record["saved_to"] = str(history.save_run(record, paths.results_dir()))
        records.append(record)
    return records


def probe_device(device_name: str, connect: ConnectOptions = ConnectOptions()) -> dict:
    """Run the agent's probe on a device; returns its facts."""
    from edgetrt.device.connect import open_session

    with open_session(load_device(device_name), connect) as session:
        return session.probe()


def doctor_device(device_name: str, probe: bool = False, connect: ConnectOptions = ConnectOptions()) -> dict:
    from edgetrt.diagnose.device_check import check_device

    facts = probe_device(device_name, connect) if probe else None
    return check_device(load_device(device_name), facts)


def report(runs: list[str], *, fmt: str = "md", compare: list[str] | None = None,
           threshold: float = 0.10) -> dict:
    """Render saved bench runs; with compare=[OLD, NEW], mark regressions and improvements."""
    from edgetrt.bench import history, report_tables
    from edgetrt.bench import compare as comparing
    from edgetrt.config import paths
    from edgetrt.errors import UsageError

    if fmt not in ("md", "csv", "html"):
        raise UsageError(f"--format {fmt!r}: choose md, csv or html")
    results = paths.results_dir()
    rows = None
    if compare:
        if len(compare) != 2:
            raise UsageError("--compare takes two runs: --compare OLD --compare NEW")
        old, new = (history.load_run(r, results) for r in compare)
        rows = comparing.compare(old, new, threshold=threshold)
        records = [new]
    else:
        old = new = None
        records = [history.load_run(r, results) for r in runs]
    if fmt == "html":
        from edgetrt.bench.report_html import html_report

        text = html_report(records, comparison=rows)
    elif fmt == "csv":
        text = "".join(report_tables.csv_text(r) for r in records)
    else:
        parts = []
        if rows is not None:
            parts.append(comparing.compare_markdown(old, new, threshold=threshold))
        parts.extend(report_tables.markdown(r) for r in records)
        text = "\n\n".join(parts)
    return {"text": text, "json": {"runs": [r.get("run_id") for r in records], "format": fmt,
                                   "comparison": rows, "text": text}}


def backend_options(backend: str, remote_root: str, probe: dict | None, force_int8: bool = False) -> dict:
    """Per-backend agent options: where TensorRT caches engines, and what the probe knows."""
    if backend != "tensorrt":
        return {}
    import posixpath

    from edgetrt.diagnose.device_check import probe_value

    options = {"engine_cache_dir": posixpath.join(remote_root, "engines"), "force_int8": force_int8}
    for key in ("tensorrt", "compute_capability"):
        value = probe_value(probe, key)
        if value:
            options["tensorrt_version" if key == "tensorrt" else key] = value
    return options
