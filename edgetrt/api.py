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
from edgetrt.config.homes import HELP_PART
from edgetrt.config.yamlfile import CACHE_PART as PARSED_PART
from edgetrt.device.session import ConnectOptions
from edgetrt.errors import EdgetrtError, UsageError  # noqa: F401  (the CLI's error types)
from edgetrt.progress import NULL_PROGRESS, Progress
from edgetrt.bench.text import number as figure  # noqa: F401  (how the CLI writes a figure)
from edgetrt.convert.sources import ModelOptions
from edgetrt.run.plan import MeasureOptions
from edgetrt.run.preflight_graph import CACHE_PART as GRAPHS_PART

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


def artifact_summary(artifact, formats=None) -> list[dict]:
    """The artifact's files (only those of ``formats``, the forms a device was sent, when given)."""
    paths = None if formats is None else [artifact.manifest["formats"][f] for f in formats if artifact.has_format(f)]
    return [{"path": str(artifact.path / f["path"]), "sha256": f["sha256"], "bytes": f["bytes"]}
            for f in artifact.files
            if paths is None or any(f["path"] == p or f["path"].startswith(p + "/") for p in paths)]


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


def select_devices(names: str | None, inventory: Path | None = None, limit: str | None = None,
                   remote: bool = False) -> list:
    """The devices `--device a,b,c | @GROUP [--inventory FILE] [--limit PATTERN]` (or `--remote`'s
    configured ones) name, in inventory order; checked before any work."""
    from edgetrt.config.inventory import resolve_devices

    if not names and remote:
        names = ",".join(remote_device_names(None, True))
    return resolve_devices(names or "local", inventory, limit)


def _plan(models, devices, backends, precisions, batches, force_int8, measure, **extra):
    from edgetrt.run.plan import make_plan

    return make_plan(models, devices, backends=backends, precisions=precisions, batches=batches,
                     force_int8=force_int8, measure=measure, **extra)


def _execute(plan, connect, progress, parallel=None):
    from edgetrt.run.execute import execute

    if connect.host and len(plan.devices) > 1:
        raise UsageError(f"--host names one device; {len(plan.devices)} are selected",
                         hint="drop --host, or select one device")
    for dp in plan.devices:
        for warning in dp.warnings:
            progress.warn(warning)
    for note in plan.notes:
        progress.warn(note)
    return execute(plan, connect, progress, parallel=parallel)


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


def deploy(model: ModelOptions, device_name: str = "local", *, inventory: Path | None = None,
           limit: str | None = None, parallel: int | None = None, share_engines: bool = True,
           profile: bool = False, backends: str | None = None,
           precisions: str | None = None, batches: str | None = None, force_int8: bool = False,
           measure: MeasureOptions = MeasureOptions(), connect: ConnectOptions = ConnectOptions(),
           progress: Progress = NULL_PROGRESS, force_fit: bool = False) -> dict:
    """Convert (cached) once, then upload, probe and run one model on each device named.

    One device: its report (schema edgetrt.report/1). Several: a fleet document (edgetrt.fleet/1)
    with one such report per device, in inventory order, and a summary; a device that failed
    before measuring has ``error`` and no runs. ``force_fit``: run cells the memory preflight says
    will not fit (they are skipped otherwise)."""
    started = time.monotonic()
    devices = select_devices(device_name, inventory, limit)
    plan = _plan([model], devices, backends, precisions, batches, force_int8, measure, share_engines=share_engines,
                 profile=profile, force_fit=force_fit)
    execution = _execute(plan, connect, progress, parallel)
    conversion = execution.conversions[model.model]
    if conversion.error:
        from edgetrt.errors import ConversionError

        raise ConversionError(conversion.error)
    reports = [_device_deploy_report(run, plan, conversion, measure) for run in execution.devices]
    if len(reports) == 1:
        return dict(reports[0], seconds=time.monotonic() - started)
    return fleet_document(reports, time.monotonic() - started)


def _device_deploy_report(run, plan, conversion, measure) -> dict:
    artifact = conversion.artifact
    warnings = list(run.plan.warnings) + list(plan.notes) + _store_warnings(run) + list(run.notes)
    if _weights_warning(conversion):
        warnings.append(_weights_warning(conversion))
    transfer = dict(run.sent or {}, remote_dir=(run.transfers.get(artifact.manifest["model"]) or {}).get("remote_dir")) \
        if run.sent else None
    return {
        "schema": REPORT_SCHEMA,
        "name": run.name,
        "address": run.address,
        "error": run.error,
        "model": artifact.manifest["model"],
        "weights": artifact.manifest.get("weights"),
        "device": device_report(run),
        "host": host_facts(),
        "conversion": {"artifact_dir": str(artifact.path), "cached": conversion.cached,
                       "seconds": conversion.seconds, "formats": artifact.manifest.get("formats")},
        "artifacts": artifact_summary(artifact, _device_formats(run, plan, conversion)),
        "transfer": transfer,
        "settings": measure.report_settings(),
        "warnings": warnings,
        "runs": [_with_measures(r, {artifact.manifest["model"]: artifact}).to_dict() for r in run.results]
        if not (run.error and run.address is None) else [],
        "seconds": run.seconds,
    }


def _with_measures(result, artifacts: dict):
    """The result with what it measured said where its backend and precision do not say it all:
    ONNX Runtime at int8 runs the INT8 model made for TensorRT (convert/quantize.py)."""
    if (result.backend, result.precision) != ("onnxruntime", "int8") or result.model not in artifacts:
        return result
    from edgetrt.convert.quantize import int8_note

    return result.with_(measures=int8_note(artifacts[result.model].manifest.get("int8"),
                                           bool((result.facts or {}).get("int8_exact_kernels"))))


def _device_formats(run, plan, conversion) -> list[str]:
    """The artifact forms this device's cells run (what it was sent)."""
    from edgetrt.run.plan import formats_for, strongly_typed

    model = next(m for m, c in plan.sources.items()) if len(plan.sources) == 1 else conversion.model
    return list(formats_for(run.plan.cells(model, plan.sources[model]), strongly_typed(run.probe)))


def fleet_document(reports: list[dict], seconds: float) -> dict:
    """Several devices' reports, in order, with a summary: how many were reached, how runs ended,
    and the cells (model, backend, precision, batch) with each device's status and median."""
    cells: dict = {}
    for report in reports:
        for run in report["runs"]:
            key = (run["model"], run["backend"], run["precision"], run["batch"])
            median = ((run.get("steady") or {}).get("latency_ms") or {}).get("median")
            cells.setdefault(key, {})[report["name"]] = {"status": run["status"], "median_ms": median}
    statuses: dict = {}
    for report in reports:
        for run in report["runs"]:
            statuses[run["status"]] = statuses.get(run["status"], 0) + 1
    return {
        "schema": "edgetrt.fleet/1",
        "devices": reports,
        "summary": {
            "devices": len(reports),
            "reached": sum(1 for r in reports if r["address"] and not r["error"]),
            "failed_devices": [{"name": r["name"], "error": r["error"]} for r in reports if r["error"]],
            "runs": statuses,
            "cells": [{"model": m, "backend": b, "precision": p, "batch": n, "devices": per_device}
                      for (m, b, p, n), per_device in cells.items()],
        },
        "seconds": seconds,
    }


def bench_fleet_document(records: list[dict]) -> dict:
    """Several devices' bench records as one fleet document (the shape `deploy` gives a fleet)."""
    reports = [{"name": r["device"]["name"], "address": r["device"].get("address"), "error": r["device"].get("error"),
                "run_id": r.get("run_id"), "saved_to": r.get("saved_to"), "device": r["device"],
                "runs": r["cells"]} for r in records]
    return fleet_document(reports, sum(r.get("seconds") or 0 for r in records))


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
          inventory: Path | None = None, limit: str | None = None, parallel: int | None = None,
          share_engines: bool = True,
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

    plan = _plan(models, select_devices(device_name, inventory, limit, remote), backends, precisions, batches,
                 force_int8, measure, profile=profile, agreement=True, images=images, share_engines=share_engines,
                 force_fit=force_fit)
    image_names = ImageSet.from_dir(images).names()
    execution = _execute(plan, connect, progress, parallel)
    conversions = {}
    for conversion in execution.conversions.values():
        if conversion.artifact is None:
            continue
        manifest = conversion.artifact.manifest
        conversions[manifest["model"]] = {"artifact_dir": str(conversion.artifact.path), "cached": conversion.cached,
                                          "seconds": conversion.seconds, "weights": manifest.get("weights")}
    weights_warnings = [w for w in (_weights_warning(c) for c in execution.conversions.values()) if w]
    for conversion in execution.conversions.values():
        manifest = conversion.artifact.manifest if conversion.artifact is not None else {}
        if manifest and not (manifest.get("preprocessing") or {}).get("layout"):
            shape = (manifest.get("inputs") or [{}])[0].get("shape")
            weights_warnings.append(f"{manifest['model']}: its input {shape} is not an image (NHWC or NCHW): "
                                    "no accuracy agreement on photos; pass --layout if it is one")
    fleet = None
    if len(execution.devices) > 1:
        # The records of one fleet run find each other by this (report side by side).
        import hashlib

        names = [run.name for run in execution.devices]
        fleet = {"id": hashlib.sha256(f"{time.time_ns()} {names}".encode()).hexdigest()[:12], "devices": names}
    artifacts = {c.artifact.manifest["model"]: c.artifact for c in execution.conversions.values()
                 if c.artifact is not None}
    records = []
    for run in execution.devices:
        own = {m: dict(c, transfer=run.transfers.get(m)) for m, c in conversions.items()}
        record = {
            "schema": BENCH_SCHEMA,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "device": dict(device_report(run), error=run.error),
            "host": host_facts(),
            "tools": tool_versions(),
            "settings": dict(measure.report_settings(), profile=profile, images=image_names,
                             backends=list(run.plan.backends), precisions=list(run.plan.precisions),
                             batches=list(run.plan.batches)),
            "warnings": list(run.plan.warnings) + list(plan.notes) + _store_warnings(run) + list(run.notes)
            + list(dict.fromkeys(weights_warnings)),
            "conversions": own,
            "cells": [_with_measures(r, artifacts).to_dict() for r in run.results],
            "seconds": run.seconds,
        }
        if fleet:
            record["fleet"] = fleet
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


def doctor_device(device_name: str, probe: bool = False, connect: ConnectOptions = ConnectOptions(),
                  inventory: Path | None = None, limit: str | None = None) -> list[dict]:
    """Host and device side by side, for each device named (`a,b`, `@GROUP` with an inventory).

    With ``probe``, a device that cannot be reached gets ``error`` in its report (one device alone:
    the error is raised)."""
    from edgetrt.device.session import open_session
    from edgetrt.diagnose.device_check import check_device, host_stack

    devices = select_devices(device_name, inventory, limit)
    host = host_stack()
    reports = []
    for device in devices:
        facts, error = None, None
        if probe:
            try:
                with open_session(device, connect) as session:
                    facts = session.probe()
            except EdgetrtError as exc:
                if len(devices) == 1:
                    raise
                error = exc.message
        reports.append(dict(check_device(device, facts, host), error=error))
    return reports


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


def list_runs() -> list[dict]:
    """The saved bench runs, oldest first: id, date, device, models, cells ok and failed."""
    from edgetrt.bench import history
    from edgetrt.config import paths

    return [dict(r, ok=r["cells"] - r["failed"]) for r in history.list_runs(paths.results_dir())]


#: What lives in the host cache, and whether `cache --clean` may remove it (results never: they
#: are the history, removed by hand only).
CACHE_PARTS = (("artifacts", "converted models (SavedModel, ONNX, FP16, INT8), made again when needed", True),
               ("agent", "agent bundles (zipapps with this host's bytecode, named by their sources' SHA-256)", True),
               ("images", "preprocessed photos for agreement and calibration", True),
               ("references", "native TensorFlow's predictions on this host, for agreement", True),
               ("shared-engines", "TensorRT engines fetched from one board to pass on to others", True),
               (GRAPHS_PART, "the memory preflight's figures of each ONNX graph and batch, by the files' SHA-256",
                True),
               (HELP_PART, "--help texts as typer printed them, replayed while nothing they were made from "
                "changed (edgetrt/cli/entry.py)", True),
               (PARSED_PART, "what device files, recipes and profiles parsed to, by their text's SHA-256 "
                "(edgetrt/config/yamlfile.py)", True))


def cache_report(clean: bool = False, dry_run: bool = True) -> dict:
    """Sizes of what edgetrt keeps on this host; with ``clean`` (and not ``dry_run``) the
    re-creatable parts are removed. The results history is listed, never removed."""
    import shutil

    from edgetrt.config import paths

    def size(path: Path) -> tuple[int, int]:
        total = count = 0
        for file in (path.rglob("*") if path.is_dir() else []):
            if file.is_file() and not file.is_symlink():
                total += file.stat().st_size
                count += 1
        return total, count

    home = paths.cache_home()
    parts = []
    for name, what, removable in CACHE_PARTS:
        path = home / name
        nbytes, files = size(path)
        removed = False
        if clean and removable and not dry_run and path.is_dir():
            shutil.rmtree(path)
            removed = True
        parts.append({"name": name, "path": str(path), "what": what, "bytes": nbytes, "files": files,
                      "removable": removable, "removed": removed})
    results = paths.results_dir()
    nbytes, files = size(results)
    parts.append({"name": "results", "path": str(results), "what": "the bench history (edgetrt runs)",
                  "bytes": nbytes, "files": files, "removable": False, "removed": False})
    freed = sum(p["bytes"] for p in parts if p["removed"])
    would = sum(p["bytes"] for p in parts if p["removable"]) if clean and dry_run else 0
    return {"cache": str(home), "parts": parts, "clean": clean, "dry_run": dry_run, "freed_bytes": freed,
            "would_free_bytes": would}


def report(runs: list[str], *, fmt: str = "md", compare: list[str] | None = None,
           threshold: float = 0.10) -> dict:
    """Render saved bench runs; several runs (a fleet, one device over time) side by side; with
    compare=[OLD, NEW], both side by side with regressions and improvements marked."""
    from edgetrt.bench import history
    from edgetrt.bench import compare as comparing
    from edgetrt.bench.report import FORMATS, render_report
    from edgetrt.config import paths
    from edgetrt.errors import UsageError

    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: choose md, csv or html")
    results = paths.results_dir()
    rows = None
    if compare:
        if len(compare) != 2:
            raise UsageError("--compare takes two runs: --compare OLD --compare NEW")
        records = [history.load_run(r, results) for r in compare]
        rows = comparing.compare(records[0], records[1], threshold=threshold)
    else:
        records = [history.load_run(r, results) for r in runs]
        if runs == ["latest"] and (records[0].get("fleet") or {}).get("id"):
            # The latest run belongs to a fleet run: report its devices side by side.
            fleet = records[0]["fleet"]["id"]
            saved = [history.load_run(r["run_id"], results) for r in history.list_runs(results)]
            records = [r for r in saved if (r.get("fleet") or {}).get("id") == fleet] or records
    text = render_report(records, fmt, comparison=rows, threshold=threshold)
    return {"text": text, "json": {"runs": [r.get("run_id") for r in records], "format": fmt,
                                   "comparison": rows, "text": text}}
