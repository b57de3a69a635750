"""`edgetrt` command line: a thin typer layer over edgetrt.api. Heavy imports stay inside commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from edgetrt.cli.options import (AlphaOpt, BackendOpt, BatchOpt, DurationOpt, ForceInt8Opt, ForceOpt,
                                 HostOpt, InputNamesOpt, InputSizeOpt, IterationsOpt, JsonOpt,
                                 KnownHostsOpt, MemoryLimitOpt, OutputNamesOpt, PrecisionOpt,
                                 PreprocessingOpt, RemoteRootOpt, SshConfigOpt, TimeoutOpt,
                                 TrustNewHostOpt, VerifyOpt, WarmupOpt, WeightsOpt)
from edgetrt.errors import EdgetrtError

app = typer.Typer(
    help="Convert a TensorFlow model on this host, deploy it to an NVIDIA Jetson, and measure it there.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors.")):
    """edgetrt"""


def _model_options(model, weights, alpha, input_size, inputs, outputs, preprocessing, force,
                   calibration_images=None):
    from edgetrt.api import ModelOptions

    return ModelOptions(model=model, weights=weights, alpha=alpha, input_size=input_size,
                        input_names=tuple(inputs or ()), output_names=tuple(outputs or ()),
                        preprocessing=preprocessing, force=force,
                        calibration_images=calibration_images)


@app.command("models")
def models_cmd(json_out: bool = JsonOpt):
    """List the model zoo (TF-slim names) and which names need your own file."""
    from edgetrt import api
    from edgetrt.cli import render

    models = api.list_models()
    render.print_json({"models": models}) if json_out else render.models_table(models)


@app.command("devices")
def devices_cmd(json_out: bool = JsonOpt):
    """List device files (devices/ and ~/.config/edgetrt/devices/)."""
    from edgetrt import api
    from edgetrt.cli import render

    devices = api.list_devices()
    render.print_json({"devices": devices}) if json_out else render.devices_table(devices)


@app.command("convert")
def convert_cmd(
    model: str = typer.Argument(..., help="Zoo name (mobilenet_v2, mobilenet_v1_0.25_128, ...) or a model file."),
    out: Optional[Path] = typer.Option(None, "--out", help="Artifact directory (default: the host cache)."),
    to: str = typer.Option("savedmodel,onnx", "--to", help="Comma list: savedmodel, onnx, onnx_int8, tftrt."),
    calib_images: Optional[Path] = typer.Option(None, "--calib-images", help="Images for INT8 calibration."),
    weights: str = WeightsOpt, alpha: Optional[float] = AlphaOpt, input_size: Optional[int] = InputSizeOpt,
    inputs: Optional[List[str]] = InputNamesOpt, outputs: Optional[List[str]] = OutputNamesOpt,
    preprocessing: Optional[str] = PreprocessingOpt, force: bool = ForceOpt, json_out: bool = JsonOpt,
    precision: Optional[str] = typer.Option(None, "--precision", help="TF-TRT precision for --to tftrt: "
                                            "fp32 | fp16 | int8 (default fp16)."),
    min_segment_size: int = typer.Option(3, "--min-segment-size", help="TF-TRT: fewest nodes a TRTEngineOp replaces."),
    workspace: Optional[int] = typer.Option(None, "--workspace", help="TF-TRT: TensorRT workspace in bytes."),
    prebuild: bool = typer.Option(False, "--prebuild", help="TF-TRT: build the engines now (they only load on "
                                  "the same GPU and TensorRT)."),
    container: Optional[str] = typer.Option(None, "--container", help="auto | TAG: run TF-TRT in an NGC "
                                            "TensorFlow container (nvcr.io/nvidia/tensorflow) instead of here."),
    device: Optional[str] = typer.Option(None, "--device", "-d", help="With --container auto: the device whose "
                                         "TensorRT the container should match."),
    dry_run: bool = typer.Option(False, "--dry-run", help="With --container: print the docker command, run nothing."),
):
    """Convert a model on this host: SavedModel (native baseline) + ONNX (tf2onnx, dynamic batch), or TF-TRT."""
    from edgetrt import api
    from edgetrt.cli import render
    from edgetrt.errors import UsageError

    formats = tuple(f.strip() for f in to.split(",") if f.strip())
    tftrt = None
    if "tftrt" in formats or precision or container or prebuild or workspace is not None:
        if "tftrt" not in formats:
            raise UsageError("--precision/--prebuild/--workspace/--container apply to TF-TRT: add --to tftrt")
        from edgetrt.convert.tftrt import TftrtSettings

        tftrt = TftrtSettings(precision or "fp16", min_segment_size, workspace, prebuild)
        formats = tuple(f"tftrt_{tftrt.precision}" if f == "tftrt" else f for f in formats)
    opts = _model_options(model, weights, alpha, input_size, inputs, outputs, preprocessing, force, calib_images)
    if container is not None:
        plan = api.convert_in_container(opts, tftrt, container=container, device_name=device, out=out,
                                        dry_run=dry_run)
        if json_out:
            render.print_json(plan)
        else:
            for warning in plan["container"]["warnings"]:
                render.err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
            typer.echo(f"# {plan['container']['image']}: {plan['container']['note']}")
            typer.echo(plan["command_line"])
        return
    progress = render.RichProgress(enabled=not json_out)
    try:
        result = api.convert_model(opts, formats=formats, out_dir=out, progress=progress, tftrt=tftrt)
    finally:
        progress.close()
    report = api.convert_report(result)
    if result.artifact.manifest.get("tftrt"):
        report["tftrt"] = result.artifact.manifest["tftrt"]
    render.print_json(report) if json_out else render.convert_summary(report)


@app.command("deploy")
def deploy_cmd(
    model: str = typer.Argument(..., help="Zoo name or model file."),
    device: str = typer.Option("local", "--device", "-d", help="Device name (see `edgetrt devices`)."),
    weights: str = WeightsOpt, alpha: Optional[float] = AlphaOpt, input_size: Optional[int] = InputSizeOpt,
    inputs: Optional[List[str]] = InputNamesOpt, outputs: Optional[List[str]] = OutputNamesOpt,
    preprocessing: Optional[str] = PreprocessingOpt, force: bool = ForceOpt,
    backend: Optional[str] = BackendOpt, precision: Optional[str] = PrecisionOpt,
    batch: Optional[str] = BatchOpt, force_int8: bool = ForceInt8Opt,
    warmup_ms: float = WarmupOpt, iterations: int = IterationsOpt, duration: float = DurationOpt,
    timeout: float = TimeoutOpt, memory_limit_mb: Optional[int] = MemoryLimitOpt,
    host: Optional[str] = HostOpt, ssh_config: Optional[Path] = SshConfigOpt,
    known_hosts: Optional[Path] = KnownHostsOpt, remote_root: Optional[str] = RemoteRootOpt,
    trust_new_host: bool = TrustNewHostOpt, verify: bool = VerifyOpt, json_out: bool = JsonOpt,
):
    """Convert, copy to the device, measure there (first run, steady state, peak memory), report."""
    from edgetrt import api
    from edgetrt.cli import render
    from edgetrt.device.connect import ConnectOptions

    progress = render.RichProgress(enabled=not json_out)
    try:
        report = api.deploy(
            _model_options(model, weights, alpha, input_size, inputs, outputs, preprocessing, force),
            device, backends=backend, precisions=precision, batches=batch, force_int8=force_int8,
            measure=api.MeasureOptions(warmup_ms=warmup_ms, min_iterations=iterations,
                                       min_seconds=duration, timeout_s=timeout,
                                       memory_limit_mb=memory_limit_mb),
            connect=ConnectOptions(host=host, ssh_config=ssh_config, known_hosts=known_hosts,
                                   trust_new_host=trust_new_host, remote_root=remote_root,
                                   verify_store=verify),
            progress=progress)
    finally:
        progress.close()
    render.print_json(report) if json_out else render.runs_table(report)


def _register_optional_groups() -> None:
    """Sub-apps that live in their own modules (doctor, ...)."""
    from edgetrt.cli.bench import bench_cmd, report_cmd
    from edgetrt.cli.doctor import doctor_app

    app.command("bench")(bench_cmd)
    app.command("report")(report_cmd)
    app.add_typer(doctor_app, name="doctor")


_register_optional_groups()


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        app(args=argv, prog_name="edgetrt")
    except EdgetrtError as exc:
        if debug:
            raise
        from edgetrt.cli import render

        if "--json" in argv:
            render.print_json({"error": {"type": type(exc).__name__, "message": exc.message,
                                         "hint": exc.hint}})
        render.print_error(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except OSError as exc:
        # The host's own environment (a full disk, a read-only cache, a missing permission):
        # one line naming the file, not a traceback.
        if debug:
            raise
        import errno

        from edgetrt.cli import render

        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        if exc.errno == errno.ENOSPC:
            render.print_error(f"no space left on this host's disk{where}",
                               "free space, or point EDGETRT_CACHE at a larger filesystem")
        else:
            render.print_error(f"{exc.strerror or exc}{where}")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
