"""What the CLI and scripts call. Returns plain values (JSON-ready dicts); raises EdgetrtError.

The option objects the CLI fills from its flags are defined where they are used and exported
here, so the CLI needs no other edgetrt module: ModelOptions (convert/sources.py), MeasureOptions (run/plan.py),
ConnectOptions (device/session.py), TftrtSettings (convert/tftrt.py).
"""

from __future__ import annotations

import platform
import time
from pathlib import Path

from edgetrt import __version__
from edgetrt.config.devices import load_device, load_devices
from edgetrt.device.session import ConnectOptions
from edgetrt.errors import EdgetrtError, UsageError  # noqa: F401  (the CLI's error types)
from edgetrt.progress import NULL_PROGRESS, Progress
from edgetrt.convert.sources import ModelOptions
from edgetrt.run.plan import MeasureOptions

__all__ = ["ConnectOptions", "EdgetrtError", "MeasureOptions", "ModelOptions", "Progress", "TftrtSettings", "UsageError", "bench", "convert_model",
           "deploy", "doctor_device", "doctor_engine", "doctor_log", "list_devices", "list_models", "preflight",
           "report"]

REPORT_SCHEMA = "edgetrt.report/1"
BENCH_SCHEMA = "edgetrt.bench/1"


def __getattr__(name):
    # TftrtSettings lives with the TF-TRT converter; importing that module at --help time costs.
    if name == "TftrtSettings":
        from edgetrt.convert.tftrt import TftrtSettings

        return TftrtSettings
    raise AttributeError(name)


def cache_home() -> Path:
    """Where edgetrt keeps conversions, agent bundles and caches on this host."""
    from edgetrt.config import paths

    return paths.cache_home()


def list_models() -> list[dict]:
    from edgetrt.zoo.registry import zoo_listing

    return zoo_listing()


def list_devices() -> list[dict]:
    return [d.to_dict() for d in load_devices().values()]


def convert_model(opts: ModelOptions, formats=("savedmodel", "onnx"), out_dir: Path | None = None,
                  progress: Progress = NULL_PROGRESS, tftrt=None):
    """``tftrt``: TftrtSettings for tftrt_* formats (defaults when None)."""
    from edgetrt.convert.pipeline import convert_model as convert

    result = convert(opts, formats, out_dir=out_dir, progress=progress.stage, tftrt=tftrt)
    warning = (result.artifact.manifest.get("weights") or {}).get("warning")
    if warning:
        progress.warn(warning)
    return result


def check(model: ModelOptions, precisions: str | None = None, progress: Progress = NULL_PROGRESS) -> dict:
    """Does TensorRT's ONNX parser accept this model, and does a builder build it, per precision?

    Converted (cached) into the forms a strongly typed TensorRT builds from (onnx, onnx_fp16, the
    Q/DQ onnx_int8), then parsed and built here with TensorRT-RTX's wheels (convert/trt_check.py):
    a host-side check before anything is uploaded."""
    from edgetrt.agent.protocol import PRECISIONS, artifact_format
    from edgetrt.convert.trt_check import check_artifact, load_library
    from edgetrt.run.plan import parse_list

    wanted = parse_list(precisions, PRECISIONS, "precision") or ["fp32", "fp16", "int8"]
    library = load_library()  # before converting: without the wheels, say so at once
    formats = tuple(dict.fromkeys(artifact_format("tensorrt", p, strongly_typed=True) for p in wanted))
    result = convert_model(model, formats=("onnx",) + formats, progress=progress)
    progress.stage(f"parsing and building with {library.flavour} {library.version}")
    doc = check_artifact(result.artifact.path, wanted, library=library)
    doc["ok"] = all(c["parsed"] and c["built"] for c in doc["checks"])
    return doc


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


def device_report(run) -> dict:
    """The device part of a report: its file, its profile's facts, what the probe found."""
    device = run.plan.device
    return {"name": device.name, "profile": device.profile, "address": run.address,
            "remote_root": run.root, "profile_facts": dict(device.facts), "probe": run.probe,
            "agent": run.agent}


def _plan(models, device_names, backends, precisions, batches, force_int8, measure, **extra):
    from edgetrt.run.plan import make_plan

    return make_plan(models, device_names, backends=backends, precisions=precisions, batches=batches,
                     force_int8=force_int8, measure=measure, **extra)


def _execute(plan, connect, progress):
    from edgetrt.run.execute import execute

    for dp in plan.devices:
        for warning in dp.warnings:
            progress.warn(warning)
    for note in plan.notes:
        progress.warn(note)
    return execute(plan, connect, progress)


def _store_warnings(run) -> list[str]:
    """What the device store had to repair or refuse, said in the report (not only in transfer)."""
    sent = run.sent or {}
    warnings = [f"{run.name}: store file {r.get('name') or r.get('sha256', '')[:12]} failed its check "
                f"({r.get('reason')}) and was sent again" for r in sent.get("repaired") or []]
    warnings += [f"{run.name}: a symbolic link at {r.get('path')} (to {r.get('target')}) was removed from "
                 "edgetrt's directory" for r in sent.get("links_removed") or []]
    return warnings


def _weights_warning(conversion) -> str | None:
    manifest = conversion.artifact.manifest if conversion.artifact is not None else {}
    return (manifest.get("weights") or {}).get("warning")


def deploy(model: ModelOptions, device_name: str, *, backends: str | None = None,
           precisions: str | None = None, batches: str | None = None, force_int8: bool = False,
           measure: MeasureOptions = MeasureOptions(), connect: ConnectOptions = ConnectOptions(),
           progress: Progress = NULL_PROGRESS, force_fit: bool = False) -> dict:
    """Convert (cached), upload, probe, run one model on one device; return the report dict.
    ``force_fit``: run cells the memory preflight says will not fit (they are skipped otherwise)."""
    started = time.monotonic()
    plan = _plan([model], [device_name], backends, precisions, batches, force_int8, measure, force_fit=force_fit)
    execution = _execute(plan, connect, progress)
    run = execution.devices[0]
    conversion = execution.conversions[model.model]
    if conversion.error:
        from edgetrt.errors import ConversionError

        raise ConversionError(conversion.error)
    artifact = conversion.artifact
    warnings = list(run.plan.warnings) + list(plan.notes) + _store_warnings(run)
    if _weights_warning(conversion):
        warnings.append(_weights_warning(conversion))
    transfer = dict(run.sent or {}, remote_dir=(run.transfers.get(artifact.manifest["model"]) or {}).get("remote_dir"))
    return {
        "schema": REPORT_SCHEMA,
        "model": artifact.manifest["model"],
        "weights": artifact.manifest.get("weights"),
        "device": device_report(run),
        "host": host_facts(),
        "conversion": {"artifact_dir": str(artifact.path), "cached": conversion.cached,
                       "seconds": conversion.seconds, "formats": artifact.manifest.get("formats")},
        "artifacts": artifact_summary(artifact),
        "transfer": transfer,
        "settings": measure.report_settings(),
        "warnings": warnings,
        "runs": [r.to_dict() for r in run.results],
        "seconds": time.monotonic() - started,
    }


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
          progress: Progress = NULL_PROGRESS, save: bool = True, force_fit: bool = False) -> list[dict]:
    """Run the matrix on each device; return one bench record per device (saved to history).
    ``force_fit``: run cells the memory preflight says will not fit (they are skipped otherwise)."""
    from edgetrt.bench import history
    from edgetrt.config import paths
    from edgetrt.lazy import tool_versions
    from edgetrt.run.execute import ImageSet

    plan = _plan(models, remote_device_names(device_name, remote), backends, precisions, batches,
                 force_int8, measure, profile=profile, agreement=True, images=images, force_fit=force_fit)
    image_names = ImageSet.from_dir(images).names()
    execution = _execute(plan, connect, progress)
    conversions = {}
    for conversion in execution.conversions.values():
        if conversion.artifact is None:
            continue
        manifest = conversion.artifact.manifest
        conversions[manifest["model"]] = {"artifact_dir": str(conversion.artifact.path), "cached": conversion.cached,
                                          "seconds": conversion.seconds, "weights": manifest.get("weights")}
    weights_warnings = [w for w in (_weights_warning(c) for c in execution.conversions.values()) if w]
    records = []
    for run in execution.devices:
        for model, transfer in run.transfers.items():
            conversions.setdefault(model, {})["transfer"] = transfer
        record = {
            "schema": BENCH_SCHEMA,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "device": dict(device_report(run), error=run.error),
            "host": host_facts(),
            "tools": tool_versions(),
            "settings": dict(measure.report_settings(), profile=profile, images=image_names,
                             backends=list(run.plan.backends), precisions=list(run.plan.precisions),
                             batches=list(run.plan.batches)),
            "warnings": list(run.plan.warnings) + list(plan.notes) + _store_warnings(run)
            + list(dict.fromkeys(weights_warnings)),
            "conversions": {m: dict(c) for m, c in conversions.items()},
            "cells": [r.to_dict() for r in run.results],
            "seconds": run.seconds,
        }
        record["run_id"] = history.make_run_id(record)
        if save:
            record["saved_to"] = str(history.save_run(record, paths.results_dir()))
        records.append(record)
    return records


def preflight(model: ModelOptions, device_name: str, *, backends: str | None = None,
              precisions: str | None = None, batches: str | None = None, probe: bool = False,
              workspace_mb: float | None = None, connect: ConnectOptions = ConnectOptions()) -> dict:
    """The memory estimate of each cell (build and run peaks against the device's available
    memory, a verdict and the cure), converting nothing: run/preflight_cells.py. ``device_name``
    is a device file or a profile (nano-2gb); ``probe`` reads the live device's free memory."""
    from edgetrt.run.preflight_cells import preflight as estimate

    facts = probe_device(device_name, connect) if probe else None
    return estimate(model, device_name, backends=backends, precisions=precisions, batches=batches,
                    probe=facts, workspace_mb=workspace_mb)


def probe_device(device_name: str, connect: ConnectOptions = ConnectOptions()) -> dict:
    """Run the agent's probe on a device; returns its facts."""
    from edgetrt.device.session import open_session

    with open_session(load_device(device_name), connect) as session:
        return session.probe()


def doctor_device(device_name: str, probe: bool = False, connect: ConnectOptions = ConnectOptions()) -> dict:
    from edgetrt.diagnose.device_check import check_device

    facts = probe_device(device_name, connect) if probe else None
    return check_device(load_device(device_name), facts)


def doctor_engine(file: Path, device_name: str | None = None, device_tensorrt: str | None = None,
                  device_cc: str | None = None):
    """(header, loads_on) for an engine file, checked against a device's profile or explicit facts.

    Explicit facts (e.g. from `dpkg -l` on the board) win over the profile's. A profile names the
    JetPack's TensorRT to three parts (8.2.1): an engine from 8.2.1.8 then gets "cannot tell", not
    a false yes; --device-tensorrt with all four parts settles it.
    """
    from edgetrt.diagnose.compat import engine_loads_on
    from edgetrt.diagnose.engine_header import read_engine_header

    is_jetson = None
    if device_name is not None:
        facts = load_device(device_name).facts
        device_tensorrt = device_tensorrt or facts.get("tensorrt")
        device_cc = device_cc or facts.get("compute_capability")
        is_jetson = bool(facts.get("l4t"))
    header = read_engine_header(file)
    return header, engine_loads_on(header, device_tensorrt, device_cc, device_name=device_name,
                                   device_is_jetson=is_jetson)


def doctor_log(text: str) -> list:
    """Findings (diagnose.findings.Finding) for pasted TensorRT / Jetson / TF-TRT output, cause first."""
    from edgetrt.diagnose.log_classifier import classify_log

    return classify_log(text)


def failure_kinds() -> list[dict]:
    """The kinds of failure the log classifier looks for (said when a log has none of them)."""
    from edgetrt.diagnose.log_classifier import looked_for

    return looked_for()


def read_log(file: str) -> tuple[str, dict]:
    """(text, how much was read) of a log file, or of standard input for "-"; one clear error otherwise."""
    from edgetrt.diagnose.log_input import read_log as read

    return read(file)


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
