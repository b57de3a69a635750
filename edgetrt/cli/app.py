"""`edgetrt` command line: a thin typer layer over edgetrt.api. Heavy imports stay inside commands."""

import os
import sys
from pathlib import Path
from typing import List, Optional

import typer

from edgetrt.cli.lazy_group import APP_SETTINGS, lazy_group
from edgetrt.cli.options import (AlphaOpt, BackendOpt, BatchOpt, DeployForceOpt, DeviceOpt, DurationOpt,
                                 ForceInt8Opt, ForceOpt, HostOpt, InputNamesOpt, InputSizeOpt, InventoryOpt,
                                 IterationsOpt, JsonOpt, KnownHostsOpt, LayoutOpt, LimitOpt, LockClocksOpt,
                                 MemoryLimitOpt, NoShareOpt, NoTransfersOpt, OutputNamesOpt, ParallelOpt,
                                 PowerModeOpt, PrecisionOpt, PreprocessingOpt, ProfileOpt, RemoteRootOpt,
                                 RigorousOpt, SshConfigOpt, TimeoutOpt, TrustNewHostOpt, VerifyOpt, WarmupOpt,
                                 WeightsOpt, WorkspaceMbOpt)

EXIT_CODES = ("Exit status: 0 every run ok; 1 a run did not end ok (the report is still printed in "
              "full), or the work failed; 2 usage or configuration error; 3 a device could not be "
              "reached, refused the connection, or answered nonsense; 130 interrupted.")

#: every command, in the order --help lists them; each is built only when it is used (lazy_group.py)
COMMANDS = {
    "models": "edgetrt.cli.app:models_cmd",
    "devices": "edgetrt.cli.app:devices_cmd",
    "convert": "edgetrt.cli.app:convert_cmd",
    "deploy": "edgetrt.cli.app:deploy_cmd",
    "check": "edgetrt.cli.app:check_cmd",
    "preflight": "edgetrt.cli.preflight:preflight_cmd",
    "bench": "edgetrt.cli.bench:bench_cmd",
    "report": "edgetrt.cli.bench:report_cmd",
    "runs": "edgetrt.cli.app:runs_cmd",
    "cache": "edgetrt.cli.app:cache_cmd",
    "doctor": "edgetrt.cli.doctor:doctor_app",
}

app = typer.Typer(
    cls=lazy_group(COMMANDS),
    help="Convert a TensorFlow model on this host, deploy it to an NVIDIA Jetson, and measure it there.\n\n"
         + EXIT_CODES,
    no_args_is_help=True, **APP_SETTINGS,
)

# Options that work before or after the subcommand: main() takes them out of argv wherever they are.
GLOBAL_FLAGS = ("--debug", "--verbose")


def _print_version(value: bool):
    if value:
        from edgetrt import __version__

        typer.echo(f"edgetrt {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors (anywhere on the line)."),
          verbose: bool = typer.Option(False, "--verbose", help="Let TensorFlow, paramiko and other libraries "
                                       "log to the terminal (anywhere on the line)."),
          version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print edgetrt's version and exit.")):
    """edgetrt"""


def _model_options(model, weights, alpha, input_size, inputs, outputs, preprocessing, force,
                   calibration_images=None, layout=None):
    from edgetrt.api import ModelOptions

    return ModelOptions(model=model, weights=weights, alpha=alpha, input_size=input_size,
                        input_names=tuple(inputs or ()), output_names=tuple(outputs or ()),
                        preprocessing=preprocessing, force=force,
                        calibration_images=calibration_images, layout=layout)


def models_cmd(json_out: bool = JsonOpt):
    """List the model zoo (TF-slim names) and which names need your own file."""
    from edgetrt import api
    from edgetrt.cli import render

    models = api.list_models()
    render.print_json({"models": models}) if json_out else render.models_table(models)


def devices_cmd(json_out: bool = JsonOpt):
    """List device files (the shipped ones and ~/.config/edgetrt/devices/)."""
    from edgetrt import api
    from edgetrt.cli import render

    devices = api.list_devices()
    render.print_json({"devices": devices}) if json_out else render.devices_table(devices)


def convert_cmd(
    model: str = typer.Argument(..., help="Zoo name (mobilenet_v2, mobilenet_v1_0.25_128, ...) or a model file."),
    out: Optional[Path] = typer.Option(None, "--out", help="Artifact directory (default: the host cache)."),
    to: str = typer.Option("savedmodel,onnx", "--to", help="Comma list: savedmodel, onnx, onnx_int8, tftrt."),
    calib_images: Optional[Path] = typer.Option(None, "--calib-images", help="Images for INT8 calibration."),
    weights: str = WeightsOpt, alpha: Optional[float] = AlphaOpt, input_size: Optional[int] = InputSizeOpt,
    inputs: Optional[List[str]] = InputNamesOpt, outputs: Optional[List[str]] = OutputNamesOpt,
    preprocessing: Optional[str] = PreprocessingOpt, layout: Optional[str] = LayoutOpt, force: bool = ForceOpt, json_out: bool = JsonOpt,
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

    formats = tuple(f.strip() for f in to.split(",") if f.strip())
    tftrt = None
    if "tftrt" in formats or precision or container or prebuild or workspace is not None:
        if "tftrt" not in formats:
            raise api.UsageError("--precision/--prebuild/--workspace/--container apply to TF-TRT: add --to tftrt")
        tftrt = api.TftrtSettings(precision or "fp16", min_segment_size, workspace, prebuild)
        formats = tuple(f"tftrt_{tftrt.precision}" if f == "tftrt" else f for f in formats)
    opts = _model_options(model, weights, alpha, input_size, inputs, outputs, preprocessing, force, calib_images, layout)
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


def deploy_cmd(
    model: str = typer.Argument(..., help="Zoo name or model file."),
    device: str = DeviceOpt, inventory: Optional[Path] = InventoryOpt, limit: Optional[str] = LimitOpt,
    parallel: Optional[int] = ParallelOpt, no_share: bool = NoShareOpt, profile: bool = ProfileOpt,
    weights: str = WeightsOpt, alpha: Optional[float] = AlphaOpt, input_size: Optional[int] = InputSizeOpt,
    inputs: Optional[List[str]] = InputNamesOpt, outputs: Optional[List[str]] = OutputNamesOpt,
    preprocessing: Optional[str] = PreprocessingOpt, layout: Optional[str] = LayoutOpt, force: bool = DeployForceOpt,
    backend: Optional[str] = BackendOpt, precision: Optional[str] = PrecisionOpt,
    batch: Optional[str] = BatchOpt, force_int8: bool = ForceInt8Opt,
    warmup_ms: float = WarmupOpt, iterations: int = IterationsOpt, duration: float = DurationOpt,
    timeout: float = TimeoutOpt, memory_limit_mb: Optional[int] = MemoryLimitOpt,
    lock_clocks: bool = LockClocksOpt, power_mode: Optional[int] = PowerModeOpt,
    no_transfers: bool = NoTransfersOpt, rigorous: bool = RigorousOpt,
    workspace_mb: Optional[int] = WorkspaceMbOpt,
    host: Optional[str] = HostOpt, ssh_config: Optional[Path] = SshConfigOpt,
    known_hosts: Optional[Path] = KnownHostsOpt, remote_root: Optional[str] = RemoteRootOpt,
    trust_new_host: bool = TrustNewHostOpt, verify: bool = VerifyOpt, json_out: bool = JsonOpt,
):
    """Convert, copy to the device, measure there (first run, steady state, peak memory), report."""
    from edgetrt import api
    from edgetrt.cli import render
    from edgetrt.api import ConnectOptions

    progress = render.RichProgress(enabled=not json_out)
    try:
        report = api.deploy(
            _model_options(model, weights, alpha, input_size, inputs, outputs, preprocessing, force, layout=layout),
            device, inventory=inventory, limit=limit, parallel=parallel, share_engines=not no_share,
            profile=profile,
            backends=backend, precisions=precision, batches=batch, force_int8=force_int8,
            measure=api.MeasureOptions(warmup_ms=warmup_ms, min_iterations=iterations,
                                       min_seconds=duration, timeout_s=timeout,
                                       memory_limit_mb=memory_limit_mb, lock_clocks=lock_clocks,
                                       power_mode=power_mode, no_transfers=no_transfers,
                                       rigorous=rigorous, workspace_mb=workspace_mb),
            connect=ConnectOptions(host=host, ssh_config=ssh_config, known_hosts=known_hosts,
                                   trust_new_host=trust_new_host, remote_root=remote_root,
                                   verify_store=verify),
            progress=progress, force_fit=force)
    finally:
        progress.close()
    reports = report["devices"] if "devices" in report else [report]
    if json_out:
        render.print_json(report)
    elif "devices" in report:
        render.fleet_tables(report)
    else:
        render.runs_table(report)
    if any(r.get("error") for r in reports) or any(run["status"] != "ok" for r in reports for run in r["runs"]):
        raise typer.Exit(1)  # the report is complete, but a device or a run did not end ok


def check_cmd(
    model: str = typer.Argument(..., help="Zoo name or model file."),
    precision: Optional[str] = typer.Option(None, "--precision", help="Comma list: fp32,fp16,int8 (default all)."),
    weights: str = WeightsOpt, alpha: Optional[float] = AlphaOpt, input_size: Optional[int] = InputSizeOpt,
    inputs: Optional[List[str]] = InputNamesOpt, outputs: Optional[List[str]] = OutputNamesOpt,
    preprocessing: Optional[str] = PreprocessingOpt, layout: Optional[str] = LayoutOpt, force: bool = ForceOpt, json_out: bool = JsonOpt,
):
    """Does TensorRT's ONNX parser accept the model, and does a builder build it? Checked on this host
    with TensorRT-RTX before anything is uploaded (exit 1 when a precision fails)."""
    from edgetrt import api
    from edgetrt.cli import render

    progress = render.RichProgress(enabled=not json_out)
    try:
        doc = api.check(_model_options(model, weights, alpha, input_size, inputs, outputs, preprocessing, force, layout=layout),
                        precision, progress=progress)
    finally:
        progress.close()
    render.print_json(doc) if json_out else render.check_table(doc)
    if not doc["ok"]:
        raise typer.Exit(1)


def runs_cmd(json_out: bool = JsonOpt):
    """List the saved bench runs (the results history): id, date, device, models, cells ok/failed."""
    from edgetrt import api
    from edgetrt.cli import render

    runs = api.list_runs()
    render.print_json({"runs": runs}) if json_out else render.runs_list(runs)


def cache_cmd(
    clean: bool = typer.Option(False, "--clean", help="Remove the parts edgetrt can make again (a dry run "
                               "unless --yes)."),
    yes: bool = typer.Option(False, "--yes", help="With --clean: really remove them."),
    json_out: bool = JsonOpt,
):
    """Show what edgetrt keeps on this host and how big it is; --clean --yes frees it (never the results)."""
    from edgetrt import api
    from edgetrt.cli import render

    doc = api.cache_report(clean=clean, dry_run=not yes)
    render.print_json(doc) if json_out else render.cache_table(doc)


def main(argv: Optional[List[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug, verbose = "--debug" in argv, "--verbose" in argv
    argv = [a for a in argv if a not in GLOBAL_FLAGS]
    if verbose:
        os.environ["EDGETRT_VERBOSE"] = "1"
    # Typer >= 0.17 ships its own copy of click; older typer runs on click itself.
    try:
        from typer._click.exceptions import ClickException, NoArgsIsHelpError
    except ImportError:
        from click.exceptions import ClickException

        class NoArgsIsHelpError(Exception):
            """Never raised by click before 8.2 (it prints the help and exits 0 by itself)."""

    try:
        # Without standalone mode click returns a command's typer.Exit code instead of exiting.
        code = app(args=argv, prog_name="edgetrt", standalone_mode=False)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except typer.Abort:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except NoArgsIsHelpError as shown:
        shown.show()  # `edgetrt` or `edgetrt doctor` alone: the help, as asked for by no_args_is_help
        sys.exit(0)
    except ClickException as exc:
        # A flag or argument click itself refused: one line, like every other error.
        from edgetrt.cli import render

        where = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else "edgetrt"
        render.print_error(exc.format_message(), f"see `{where} --help`")
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - sorted below; anything else is a bug and re-raised
        from edgetrt import api

        if debug or not isinstance(exc, (api.EdgetrtError, OSError)):
            raise
        from edgetrt.cli import render

        if isinstance(exc, api.EdgetrtError):
            if "--json" in argv:
                render.print_json({"error": {"type": type(exc).__name__, "message": exc.message,
                                             "hint": exc.hint}})
            render.print_error(exc.message, exc.hint)
            sys.exit(exc.exit_code)
        # The host's own environment (a full disk, a read-only cache, a missing permission):
        # one line naming the file, not a traceback.
        import errno

        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        if exc.errno == errno.ENOSPC:
            render.print_error(f"no space left on this host's disk{where}",
                               "free space, or point EDGETRT_CACHE at a larger filesystem")
        else:
            render.print_error(f"{exc.strerror or exc}{where}")
        sys.exit(1)
    if code == 130:  # typer turns Ctrl-C inside a command into exit status 130
        sys.stderr.write("interrupted\n")
    sys.exit(code if isinstance(code, int) else 0)
