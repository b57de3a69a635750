"""The run pipeline: one executor for a :class:`Plan`, used by `deploy` and by `bench`.

Order of work, chosen so that mistakes fail early and nothing is done twice:

1. connect to every device and probe it (an unreachable device or a refused host key is known
   before anything is converted);
2. convert each model once, in the formats every device's cells need (the content cache makes an
   unchanged model free);
3. per device: upload each model's files once (verified, content-addressed), then run that
   device's cells one at a time — never two measurements at once on one device;
4. with agreement asked for: compare each cell's predictions on real photos with native
   TensorFlow's (the same device's tf fp32 cell, or TensorFlow on this host, cached).

Failures are results too: a cell whose conversion, upload or run failed carries its status and
message (made by ``RunResult.failed``), and a device that could not be reached carries ``error``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from edgetrt.convert.artifacts import MANIFEST, Artifact
from edgetrt.device.agent_client import RunResult
from edgetrt.device.session import ConnectOptions, DeviceSession, FirstRun, open_session
from edgetrt.device.store import LocalFile
from edgetrt.errors import AgentError, EdgetrtError, TransportError
from edgetrt.hashing import sha256_file
from edgetrt.progress import NULL_PROGRESS, Progress
from edgetrt.convert.sources import ModelOptions
from edgetrt.run import sharing
from edgetrt.run.plan import Cell, DevicePlan, Plan, formats_for, strongly_typed


@dataclass
class Conversion:
    model: str
    artifact: Artifact | None = None
    cached: bool = False
    seconds: float = 0.0
    error: str | None = None
    #: failure of the TF-TRT forms only (they need a TensorRT-enabled TensorFlow on this host)
    tftrt_error: str | None = None


@dataclass
class DeviceRun:
    """What happened on one device: its facts, what was sent, one result per cell."""

    plan: DevicePlan
    address: str | None = None
    root: str | None = None
    probe: dict | None = None
    agent: dict | None = None
    results: list[RunResult] = field(default_factory=list)
    transfers: dict = field(default_factory=dict)
    #: everything sent to this device (agent and all models): TransferStats.to_dict()
    sent: dict | None = None
    #: set when the device failed before or while measuring (unreachable, refused, gone)
    error: str | None = None
    error_type: str | None = None
    seconds: float = 0.0
    #: what the report should say about this device's run (engines refused for it, ...)
    notes: list = field(default_factory=list)
    #: the memory preflight's estimate per cell (preflight_cell), and the graphs it read
    preflight: dict = field(default_factory=dict)
    preflight_graphs: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.plan.device.name


@dataclass
class Execution:
    plan: Plan
    conversions: dict[str, Conversion]
    devices: list[DeviceRun]


def execute(plan: Plan, connect: ConnectOptions = ConnectOptions(), progress: Progress = NULL_PROGRESS,
            convert=None, parallel: int | None = None) -> Execution:
    """Run every cell of ``plan``; see the module docstring.

    Devices work in parallel (at most ``parallel`` at once, default all of them up to 16), each
    device's cells one after another. ``convert`` replaces the converter
    (``convert(ModelOptions, formats, progress) -> (Artifact, cached, seconds)``)."""
    from concurrent.futures import ThreadPoolExecutor

    convert = convert or convert_model
    runs = [DeviceRun(dp) for dp in plan.devices]
    alone = len(runs) == 1
    if not alone:
        progress.fleet([r.name for r in runs])
    workers = max(1, min(parallel or 16, len(runs)))
    opened: dict[str, tuple] = {}  # device name -> (context manager, session)
    stopped = threading.Event()    # set on Ctrl-C: no device starts another cell
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="device")
    try:
        # 1. Reach and probe every device (refused hosts and unreachable boards known now).
        list(pool.map(lambda run: _connect(plan, run, opened, connect, progress.device(run.name), alone), runs))
        # 2. Convert each model once, in every form any device needs.
        conversions = {}
        for opts in plan.models:
            formats = _formats_needed(plan, opts, runs)
            conversions[opts.model] = _convert(opts, formats, convert, progress, plan)
        images = ImageSet.from_dir(plan.images) if (plan.agreement or _needs_calibration(plan)) else None

        # 3. Upload and measure, devices in parallel, each device's cells in turn. Where boards of
        # one kind share engines, the first of each kind goes first and the others get its engines
        # and its timing cache (run/sharing.py).
        offers: dict[str, sharing.Offers] = {}

        def measure(run: DeviceRun) -> None:
            if run.name not in opened:
                _fail_device_cells(run, plan, conversions)
                return
            session = opened[run.name][1]
            started = time.monotonic()
            _run_device(plan, run, session, conversions, images, progress.device(run.name), alone, stopped,
                        offers.get(run.name))
            run.seconds = time.monotonic() - started
            run.sent = session.sent.to_dict()

        groups = sharing.groups(runs) if plan.share_engines and not alone else {}
        followers = [r for members in groups.values() for r in members[1:]]
        list(pool.map(measure, [r for r in runs if r not in followers]))
        if followers:
            from edgetrt.config import paths

            offers.update(sharing.pass_on(groups, {name: s for name, (_, s) in opened.items()},
                                          paths.cache_home() / "shared-engines", progress))
            list(pool.map(measure, followers))
    except BaseException:
        # Ctrl-C (or a device's failure, alone): close every connection now, so each remote agent
        # reads end-of-file and stops its measurement, instead of waiting for the devices' threads.
        stopped.set()
        for _, session in list(opened.values()):
            session.transport.close()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        for manager, _ in list(opened.values()):
            manager.__exit__(None, None, None)
    if plan.agreement:
        from edgetrt.run.agreement import add_agreement

        add_agreement(plan, runs, conversions, images, progress)
    return Execution(plan, conversions, runs)


# ---- steps ---------------------------------------------------------------------------------------


def _connect(plan: Plan, run: DeviceRun, opened: dict, connect, progress, alone: bool) -> None:
    """Open the device's session and probe it; a failure is the device's (or, alone, the command's)."""
    progress.stage(f"connecting to {run.name}")
    manager = open_session(run.plan.device, connect)
    try:
        session = manager.__enter__()
    except EdgetrtError as exc:
        if alone:
            raise  # one device: its failure is the command's failure (and its exit code)
        run.error, run.error_type = exc.message, type(exc).__name__
        progress.warn(f"{run.name}: {exc.message}")
        return
    opened[run.name] = (manager, session)
    try:
        run.address, run.root = session.address, session.root
        progress.stage(f"probing {session.address}")
        # Only a TensorRT cell needs what importing the TensorRT module tells (its bindings, path).
        # The agent that probes stays for the first cell (its artifact's check and its run).
        first = next((cell for _, cell in _device_cells(plan, run)), None)
        run.probe = session.probe(tensorrt_modules="tensorrt" in run.plan.backends,
                                  first_run=FirstRun(first.backend, plan.measure.memory_limit_mb) if first else None)
        run.agent = session.agent_identity()
        from edgetrt.diagnose.device_check import profile_contradictions

        for warning in profile_contradictions(run.plan.device, run.probe):
            run.notes.append(warning)
            progress.warn(warning)
    except EdgetrtError as exc:
        if alone:
            raise
        run.error, run.error_type = exc.message, type(exc).__name__
        progress.warn(f"{run.name}: {exc.message}")
        opened.pop(run.name)
        manager.__exit__(None, None, None)


def _formats_needed(plan: Plan, opts: ModelOptions, runs: list[DeviceRun]) -> tuple[str, ...]:
    formats: list[str] = []
    kind = plan.sources[opts.model]
    for run in runs:
        formats.extend(formats_for(run.plan.cells(opts.model, kind), strongly_typed(run.probe)))
    if plan.agreement and kind != "onnx":
        formats.append("savedmodel")  # the reference: native TensorFlow (on the device or this host)
    return tuple(dict.fromkeys(formats))


def _needs_calibration(plan: Plan) -> bool:
    return any(b == "tensorrt" for dp in plan.devices for b in dp.backends) and \
        any(p == "int8" for dp in plan.devices for p in dp.precisions)


def convert_model(opts: ModelOptions, formats, progress: Progress):
    """The content-cached converter: (artifact, cached, seconds)."""
    from edgetrt.convert.pipeline import convert_model as convert

    result = convert(opts, formats, progress=progress.stage)
    return result.artifact, result.cached, result.seconds


def _convert(opts: ModelOptions, formats, convert, progress: Progress, plan: Plan) -> Conversion:
    from dataclasses import replace

    from edgetrt.convert.images import default_images_dir

    conversion = Conversion(opts.model)
    if "onnx_int8" in formats and opts.calibration_images is None:
        # INT8 is calibrated on the same real photos the agreement uses.
        opts = replace(opts, calibration_images=plan.images or default_images_dir())
    base = tuple(f for f in formats if not f.startswith("tftrt_"))
    tftrt = tuple(f for f in formats if f.startswith("tftrt_"))
    progress.stage(f"converting {opts.model}")
    try:
        conversion.artifact, conversion.cached, conversion.seconds = convert(opts, base or ("onnx",), progress)
        if tftrt:
            # TF-TRT needs a TensorRT-enabled TensorFlow here: its failure stays with the tftrt cells.
            try:
                conversion.artifact, conversion.cached, seconds = convert(opts, base + tftrt, progress)
                conversion.seconds += seconds
            except EdgetrtError as exc:
                conversion.tftrt_error = f"TF-TRT conversion failed: {exc}" + (f" ({exc.hint})" if exc.hint else "")
    except EdgetrtError as exc:
        conversion.error = f"conversion failed: {exc}"
        progress.warn(f"{opts.model}: {conversion.error}")
    return conversion


def _fail_device_cells(run: DeviceRun, plan: Plan, conversions) -> None:
    for opts in plan.models:
        for cell in run.plan.cells(opts.model, plan.sources[opts.model]):
            run.results.append(_failed(cell, conversions[opts.model], "error",
                                       f"{run.name}: {run.error}"))


def _failed(cell: Cell, conversion: Conversion, status: str, message: str) -> RunResult:
    model = _model_name(conversion) or cell.model
    return RunResult.failed(cell.backend, cell.precision, cell.batch, status, message, model=model)


def _model_name(conversion: Conversion) -> str | None:
    return conversion.artifact.manifest["model"] if conversion.artifact is not None else None


def _device_cells(plan: Plan, run: DeviceRun) -> list[tuple[ModelOptions, Cell]]:
    """The device's cells, in the order they run: each model's in turn."""
    return [(opts, cell) for opts in plan.models for cell in run.plan.cells(opts.model, plan.sources[opts.model])]


def _run_device(plan: Plan, run: DeviceRun, session: DeviceSession, conversions, images, progress,
                alone: bool, stopped: threading.Event | None = None, offers: sharing.Offers | None = None) -> None:
    cells = _device_cells(plan, run)
    uploaded: dict[str, tuple[str, str | None]] = {}
    started_steps = False
    for opts, cell in cells:
        if stopped is not None and stopped.is_set():
            return  # interrupted: no new cell starts
        conversion = conversions[opts.model]
        if run.error:
            run.results.append(_failed(cell, conversion, "error", f"{run.name}: {run.error}"))
            continue
        if conversion.error:
            run.results.append(_failed(cell, conversion, "error", conversion.error))
            continue
        if cell.backend == "tftrt" and conversion.tftrt_error:
            run.results.append(_failed(cell, conversion, "error", conversion.tftrt_error))
            continue
        skipped = preflight_cell(plan, run, cell, conversion, progress)
        if skipped is not None:
            run.results.append(skipped)
            continue
        count = sum(1 for o, _ in cells if o.model == opts.model)
        label = f"{_model_name(conversion)} on {run.address}"
        try:
            result = None
            if opts.model not in uploaded and not sharing.has_offer(
                    offers, (_model_name(conversion), cell.backend, cell.precision, cell.batch)):
                # The model's first cell: its files checked and assembled, and the cell run, in one
                # remote command when nothing has to be sent
                progress.start_steps(count, label)
                started_steps = True
                uploaded[opts.model], result = _upload_and_run(plan, opts.model, run, session, cell, conversion,
                                                               images, progress)
                if result is None:
                    started_steps = False  # a file was sent (its bar shown): the cells' bar again
            if opts.model not in uploaded:
                uploaded[opts.model] = _upload(plan, opts.model, run, session, conversion, images, progress)
                started_steps = False
            if not started_steps:
                progress.start_steps(count, label)
                started_steps = True
            if result is None:
                remote_dir, images_on_device = uploaded[opts.model]
                shared = sharing.cell_options(session, offers,
                                              (_model_name(conversion), cell.backend, cell.precision, cell.batch))
                result = _run_cell(plan, run, session, cell, remote_dir, images_on_device, shared)
        except (TransportError, AgentError) as exc:
            if alone:
                raise  # one device: losing it (or its agent) is the command's failure and exit code
            # The device is gone or its agent speaks nonsense: this and every later cell on it fail
            # with that reason.
            run.error, run.error_type = exc.message, type(exc).__name__
            run.results.append(_failed(cell, conversion, "error", f"{run.name}: {exc.message}"))
            continue
        except EdgetrtError as exc:
            result = _failed(cell, conversion, "error", str(exc))
        result = result.with_(model=_model_name(conversion),
                              artifact_bytes=_artifact_bytes(conversion.artifact, cell, result, run.probe),
                              original_bytes=_original_bytes(conversion.artifact))
        run.results.append(result)
        progress.step_done(f"{result.model} {cell.label}: {result.status}")


def preflight_cell(plan: Plan, run: DeviceRun, cell: Cell, conversion: Conversion, progress) -> RunResult | None:
    """The memory preflight of one cell, before anything of it is uploaded (run/preflight_cells.py).

    A cell that will not fit comes back as a ``skipped`` result (unless ``plan.force_fit``); any
    other is run, with its estimate kept in ``run.preflight`` for its workspace and its report.
    An estimate that cannot be made is a warning, never a reason not to run."""
    from edgetrt.agent.protocol import SKIPPED
    from edgetrt.run.preflight_cells import check_cell, skipped_message

    try:
        estimate = check_cell(cell, run.plan.device, run.probe, conversion.artifact, plan.measure.workspace_mb,
                              run.preflight_graphs)
    except Exception as exc:  # noqa: BLE001 - an unreadable graph must not stop the measurement
        progress.warn(f"{cell.model} {cell.label}: no memory preflight ({type(exc).__name__}: {exc})")
        return None
    if estimate is None:
        return None
    run.preflight[cell] = estimate
    if estimate.verdict != "will not fit" or plan.force_fit:
        return None
    progress.warn(f"{cell.model} {cell.label}: {skipped_message(estimate)}")
    return _failed(cell, conversion, SKIPPED, skipped_message(estimate)).with_(preflight=estimate.to_dict())


def _upload(plan: Plan, model: str, run: DeviceRun, session: DeviceSession, conversion: Conversion, images,
            progress):
    """The artifact's files (and the photos' tensor) into the device store; the artifact dir there."""
    artifact = conversion.artifact
    files, entries, images_file = _files_to_send(plan, model, run, artifact, images)
    progress.start_bytes(sum(f.size for f in files), f"uploading {artifact.manifest['model']} to {session.address}")
    stats, remote_dir = session.upload_artifact(files, directory_id(entries), entries, progress=progress.advance_bytes)
    run.transfers[artifact.manifest["model"]] = dict(stats.to_dict(), remote_dir=remote_dir)
    return remote_dir, session.store_path(images_file.sha256) if images_file else None


def _upload_and_run(plan: Plan, model: str, run: DeviceRun, session: DeviceSession, cell: Cell,
                    conversion: Conversion, images, progress) -> tuple[tuple[str, str | None], RunResult | None]:
    """_upload, then _run_cell, in one remote command when nothing has to be sent
    (session.upload_artifact_and_run): ((the artifact dir, the photos' path), the result, or None
    when a file was sent and the cell is still to run)."""
    artifact = conversion.artifact
    files, entries, images_file = _files_to_send(plan, model, run, artifact, images)
    images_on_device = session.store_path(images_file.sha256) if images_file else None
    text = f"uploading {artifact.manifest['model']} to {session.address}"
    sending = _BytesShownWhenSent(progress, sum(f.size for f in files), text)
    spec, estimate = _cell_spec(plan, run, cell, None, images_on_device)
    stats, remote_dir, result = session.upload_artifact_and_run(files, directory_id(entries), entries, spec,
                                                                plan.measure.timeout_s, plan.measure.memory_limit_mb,
                                                                progress=sending)
    run.transfers[artifact.manifest["model"]] = dict(stats.to_dict(), remote_dir=remote_dir)
    if result is not None and estimate is not None:
        result = result.with_(preflight=estimate.to_dict())
    return (remote_dir, images_on_device), result


class _BytesShownWhenSent:
    """A transfer's progress that shows its bar only once a byte is sent (an unchanged artifact
    sends none, and the cells' bar stays)."""

    def __init__(self, progress, total: int, text: str):
        self.progress, self.total, self.text, self.started = progress, total, text, False

    def __call__(self, n: int) -> None:
        if not self.started:
            self.progress.start_bytes(self.total, self.text)
            self.started = True
        self.progress.advance_bytes(n)


def _files_to_send(plan: Plan, model: str, run: DeviceRun, artifact: Artifact, images):
    """(the files the device's cells need, the artifact directory's entries, the photos' tensor file)."""
    kind = plan.sources[model]
    files, entries = artifact_files(artifact, formats_for(run.plan.cells(model, kind), strongly_typed(run.probe)))
    images_file = images.tensor_file(artifact.manifest) if images is not None else None
    if images_file is not None:
        files.append(images_file)
    return files, entries, images_file


def directory_id(entries: list[tuple[str, str]]) -> str:
    """The name of an assembled artifact directory on the device: its entries by content, so a
    directory with other files (another subset of the artifact's forms) is another directory."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(sorted(entries)).encode()).hexdigest()


def artifact_files(artifact: Artifact, formats=None) -> tuple[list[LocalFile], list[tuple[str, str]]]:
    """(files to upload, (relative path, sha256) entries of the artifact directory); the manifest last.

    ``formats``: only the files of these artifact forms (a device running ONNX Runtime at fp32 is
    not sent the SavedModel or the INT8 model); None: all of them."""
    paths = None
    if formats is not None:
        paths = [artifact.manifest["formats"][f] for f in formats if artifact.has_format(f)]
    files, entries = [], []
    for entry in artifact.files:
        if paths is not None and not any(entry["path"] == p or entry["path"].startswith(p + "/") for p in paths):
            continue
        files.append(LocalFile(artifact.path / entry["path"], entry["sha256"], entry["bytes"]))
        entries.append((entry["path"], entry["sha256"]))
    manifest_path = artifact.path / MANIFEST
    manifest_sha = sha256_file(manifest_path)
    files.append(LocalFile(manifest_path, manifest_sha, manifest_path.stat().st_size))
    entries.append((MANIFEST, manifest_sha))
    return files, entries


def _run_cell(plan: Plan, run: DeviceRun, session: DeviceSession, cell: Cell, remote_dir: str,
              images_on_device: str | None, shared: dict | None = None) -> RunResult:
    """``shared``: what the group's first device made, for this cell (sharing.cell_options)."""
    spec, estimate = _cell_spec(plan, run, cell, remote_dir, images_on_device, shared)
    result = session.run(spec, plan.measure.timeout_s, plan.measure.memory_limit_mb)
    return result.with_(preflight=estimate.to_dict()) if estimate is not None else result


def _cell_spec(plan: Plan, run: DeviceRun, cell: Cell, remote_dir: str | None, images_on_device: str | None,
               shared: dict | None = None):
    """(the agent's spec of one cell, its memory preflight estimate or None)."""
    options = backend_options(cell.backend, run.root, run.probe, plan.force_int8)
    options.update(shared or {})
    estimate = run.preflight.get(cell)
    if cell.backend == "tensorrt" and (plan.measure.workspace_mb or (estimate and estimate.workspace_mb)):
        # --workspace-mb, else the preflight's (what a board of 4 GB or less leaves free)
        options["workspace_bytes"] = int(plan.measure.workspace_mb or estimate.workspace_mb) << 20
    if plan.profile:
        options["profile"] = True
    if cell.backend == "tensorrt" and cell.precision == "int8" and images_on_device:
        # Implicit-INT8 calibration (TensorRT <= 10) when the artifact has no Q/DQ model.
        options["calibration_npy"] = images_on_device
    spec = dict(backend=cell.backend, precision=cell.precision, batch=cell.batch, artifact_dir=remote_dir,
                options=options, **plan.measure.agent_settings())
    if plan.agreement and images_on_device:
        spec["images_npy"] = images_on_device
    return spec, estimate


def backend_options(backend: str, remote_root: str, probe: dict | None, force_int8: bool = False) -> dict:
    """Per-backend agent options: where TensorRT caches engines, and what the probe knows."""
    if backend != "tensorrt":
        return {}
    options = {"engine_cache_dir": sharing.engine_cache_dir(remote_root), "force_int8": force_int8}
    facts = (probe or {}).get("facts") or {}
    for key, option in (("tensorrt", "tensorrt_version"), ("compute_capability", "compute_capability")):
        value = (facts.get(key) or {}).get("value")
        if value:
            options[option] = value
    return options


def _bytes_of(artifact: Artifact | None, fmt: str | None) -> int | None:
    if artifact is None or not fmt or not artifact.has_format(fmt):
        return None
    rel = artifact.manifest["formats"][fmt]
    return sum(f["bytes"] for f in artifact.files if f["path"] == rel or f["path"].startswith(rel + "/"))


def _artifact_bytes(artifact, cell: Cell, result: RunResult, probe) -> int | None:
    """What the cell ran: the engine TensorRT built, else the artifact form of its backend."""
    from edgetrt.agent.protocol import artifact_format

    engine = (result.facts or {}).get("engine_bytes")
    if isinstance(engine, int) and not isinstance(engine, bool):
        return engine
    fmt = artifact_format(cell.backend, cell.precision,
                          strongly_typed=strongly_typed(probe) and cell.backend == "tensorrt")
    return _bytes_of(artifact, fmt)


def _original_bytes(artifact) -> int | None:
    if artifact is None:
        return None
    return _bytes_of(artifact, "savedmodel" if artifact.has_format("savedmodel") else "onnx")


class ImageSet:
    """Real photos for accuracy agreement and INT8 calibration (bench's --images)."""

    def __init__(self, files):
        self.files = tuple(files)

    @classmethod
    def from_dir(cls, directory=None) -> "ImageSet":
        from edgetrt.convert.images import default_images_dir, image_files

        return cls(image_files(directory or default_images_dir()))

    def names(self) -> list[str]:
        return [f.name for f in self.files]

    def tensor_file(self, manifest: dict) -> LocalFile | None:
        """The photos preprocessed for this model (its size, preprocessing and layout), as a
        content-addressed .npy in the host cache; None when the model's input is not an image."""
        import hashlib

        import numpy as np

        from edgetrt.config import paths
        from edgetrt.convert.images import load_images

        prep = manifest.get("preprocessing") or {}
        if not prep.get("layout") or not prep.get("input_size"):
            return None
        batch = load_images(list(self.files), prep["input_size"][0], prep["mode"])
        if prep["layout"] == "NCHW":
            batch = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
        digest = hashlib.sha256(batch.tobytes() + str(batch.shape).encode()).hexdigest()
        directory = paths.cache_home() / "images"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"images-{digest[:16]}.npy"
        if not path.is_file():
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, batch)
            tmp.replace(path)
        return LocalFile.from_path(path)
