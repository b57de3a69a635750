"""`edgetrt doctor`: explain why an engine will not load, or what an error log means.

Thin: flags map onto api.doctor_engine / doctor_log / doctor_device; rendering is
the only thing done here. Failures are EdgetrtError subclasses for the app's entry point, which
prints one `error:` line and exits with their code (1 for a file that is not a whole engine,
2 for unusable input such as an empty or binary log).
"""

from pathlib import Path

from typing import Optional

import typer

from edgetrt.cli.lazy_group import APP_SETTINGS, lazy_group
from edgetrt.cli.options import InventoryOpt, LimitOpt


METADATA_KEYS_SHOWN = ("description", "version", "date", "task", "imgsz", "batch", "half", "int8")

doctor_app = typer.Typer(
    cls=lazy_group({"engine": "edgetrt.cli.doctor:engine_command", "log": "edgetrt.cli.doctor:log_command",
                    "device": "edgetrt.cli.doctor:device_command"}),
    help="Diagnose TensorRT engines and TensorRT/Jetson error logs (works without TensorRT or a GPU).",
    no_args_is_help=True, **APP_SETTINGS,
)


@doctor_app.callback()
def _doctor() -> None:
    # A callback makes doctor_app a group of its own (its commands are built lazily, not registered).
    pass


def engine_command(
    file: Path = typer.Argument(..., help="A serialized TensorRT or TensorRT-RTX engine (.engine, .plan, .trt)."),
    device: Optional[str] = typer.Option(None, "--device", help="Device profile name to check the engine against."),
    device_tensorrt: Optional[str] = typer.Option(
        None, "--device-tensorrt", help="The device's TensorRT version, e.g. 8.2.1.8."
    ),
    device_cc: Optional[str] = typer.Option(None, "--device-cc", help="The device's GPU compute capability, e.g. 5.3."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Read which TensorRT and GPU built an engine; with device facts, say whether it will load.

    Exit 0: decoded (it loads, or that cannot be told); 1: it certainly will not load on the given
    device, or the file is not a whole engine (empty, cut short, another format); 2: a usage error.
    """
    from edgetrt import api

    header, loads_on = api.doctor_engine(file, device, device_tensorrt, device_cc)
    if as_json:
        import json

        typer.echo(json.dumps(engine_report(header, loads_on), indent=2))
    else:
        _render_engine(header, loads_on)
    if loads_on["ok"] is False:
        raise typer.Exit(1)


def log_command(
    file: str = typer.Argument(..., help="A log file, or - to read standard input."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Classify TensorRT / Jetson / TF-TRT error output into findings with fixes.

    Exit 0 with or without findings; 2 when the input is empty, binary or not a readable file.
    """
    from edgetrt import api

    text, read_note = api.read_log(file)
    findings = api.doctor_log(text)
    if as_json:
        import json

        typer.echo(json.dumps({"findings": [finding.to_dict() for finding in findings], "looked_for": api.failure_kinds(),
                               "input": read_note}, indent=2))
    else:
        _render_findings(findings, read_note)


def engine_report(header, loads_on: dict) -> dict:
    """The JSON document of `doctor engine --json`: the header's fields plus the verdict."""
    report = header.to_dict()
    report["loads_on"] = loads_on
    return report


def _version_line(header) -> str:
    if header.tensorrt_version_source == "version bytes":
        return f"{header.tensorrt_version} (exact: version bytes)"
    if header.tensorrt_version_source == "serialization tag":
        return f"{' or '.join(header.serialization_tag_releases)} (from serialization tag {header.serialization_tag})"
    return "unknown"


def _gpu_line(header) -> str:
    gpu = "integrated (Jetson)" if header.integrated_gpu else "discrete"
    if header.jetson_models:
        gpu += ": " + " / ".join(header.jetson_models)
    if header.device_name:
        gpu += f" ({header.device_name})"
    if header.multiprocessor_count is not None:
        gpu += f", {header.multiprocessor_count} SM{'' if header.multiprocessor_count == 1 else 's'}"
    return gpu


def _metadata_line(metadata: dict) -> str:
    shown = [f"{key} {metadata[key]}" for key in METADATA_KEYS_SHOWN if key in metadata]
    if isinstance(metadata.get("names"), dict):
        shown.append(f"{len(metadata['names'])} class names")
    return "; ".join(shown) or f"{len(metadata)} keys"


def _render_engine(header, loads_on: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    # Paths are long and must not be cut: above the table, not in it.
    console.print(f"file: {header.file}", markup=False, highlight=False, soft_wrap=True)
    table = Table(show_header=False, box=None)
    table.add_row(header.product, _version_line(header))
    if header.compute_capability:
        table.add_row("compute capability", f"{header.compute_capability} (the building GPU's)")
    elif not header.target_compute_capabilities:
        table.add_row("compute capability", "unknown")
    if header.target_compute_capabilities:
        table.add_row("targets", "compute capabilities " + " ".join(header.target_compute_capabilities))
    table.add_row("layout", header.format)
    if header.serialization_tag is not None:
        table.add_row("serialization tag", header.serialization_tag_description)
    if header.integrated_gpu is not None:
        table.add_row("built on GPU", _gpu_line(header))
    if header.wrapper_metadata is not None:
        table.add_row("Ultralytics metadata", _metadata_line(header.wrapper_metadata))
    verdict = {True: "[green]yes[/]", False: "[red]no[/]", None: "[yellow]unknown[/]"}[loads_on["ok"]]
    table.add_row("loads on device", verdict)
    console.print(table)
    for line in ([header.layout_note] if header.layout_note else []) + list(header.notes):
        console.print(f"note: {line}", markup=False, highlight=False, soft_wrap=True)
    for reason in loads_on["reasons"]:
        console.print(f"  - {reason}", markup=False, highlight=False, soft_wrap=True)
    if loads_on["fix"]:
        console.print(f"fix: {loads_on['fix']}", markup=False, highlight=False, soft_wrap=True)


def _render_findings(findings: list, read_note: dict) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    if read_note["read"] != "whole":
        console.print(f"note: {read_note['bytes']} bytes; read {read_note['read']}", markup=False, highlight=False)
    if not findings:
        from edgetrt import api

        kinds = ", ".join(entry["failure"] for entry in api.failure_kinds())
        console.print(f"no known failure in this log; looked for: {kinds}", markup=False, highlight=False,
                      soft_wrap=True)
        return
    for finding in findings:
        console.print(f"[bold]{finding.code}[/]: {escape(finding.summary)}", highlight=False, soft_wrap=True)
        for line in finding.evidence:
            console.print(f"    > {line}", markup=False, highlight=False, soft_wrap=True)
        if finding.versions:
            import json

            console.print(f"    stated: {json.dumps(finding.versions)}", markup=False, highlight=False, soft_wrap=True)
        console.print(f"    fix: {finding.fix}", markup=False, highlight=False, soft_wrap=True)


def device_command(
    name: str = typer.Argument(..., help="Device name(s): NAME, a,b,c, or @GROUP with --inventory."),
    probe: bool = typer.Option(False, "--probe", help="Connect and read the device's real versions."),
    inventory: Optional[Path] = InventoryOpt, limit: Optional[str] = LimitOpt,
    host: Optional[str] = typer.Option(None, "--host", help="ALIAS or user@addr[:port] (with --probe)."),
    ssh_config: Optional[Path] = typer.Option(None, "--ssh-config", help="ssh config file."),
    known_hosts: Optional[Path] = typer.Option(None, "--known-hosts", help="known_hosts file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Host and device side by side (L4T, JetPack, TensorRT, CUDA, cuDNN, compute capability),
    the NGC TensorFlow container whose TensorRT matches, and what it means for deploy."""
    from edgetrt import api
    from edgetrt.api import ConnectOptions

    reports = api.doctor_device(name, probe=probe, connect=ConnectOptions(
        host=host, ssh_config=ssh_config, known_hosts=known_hosts), inventory=inventory, limit=limit)
    if as_json:
        import json

        typer.echo(json.dumps(reports[0] if len(reports) == 1 else {"devices": reports}, indent=2, default=str))
    else:
        for report in reports:
            _render_device(report)
    if any(r.get("error") for r in reports):
        raise typer.Exit(3)


def _render_device(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if report.get("error"):
        console.print(f"{report['device']}: not reached: {report['error']}", markup=False, highlight=False)
    table = Table(title=f"{report['device']} ({report['board']}) vs this host")
    for col in ("", "host", "device (profile)", "device (probed)"):
        table.add_column(col)
    for row in report["rows"]:
        table.add_row(row["fact"], str(row["host"] or "—"), str(row["device_expected"] or "—"),
                      str(row["device_probed"] or ("—" if report["probed"] else "not probed")))
    console.print(table)
    if report["releases"]:
        rel = Table(title="releases of this L4T family")
        for col in ("L4T", "JetPack", "TensorRT", "CUDA", "cuDNN", "Python"):
            rel.add_column(col)
        for r in report["releases"]:
            rel.add_row(r["l4t"], r["jetpack"], r["tensorrt"], r["cuda"], r["cudnn"], r["python"])
        console.print(rel)
    if report["container"]:
        c = report["container"]
        console.print(f"NGC TensorFlow container for this TensorRT: {c.get('image') or c.get('tag')} "
                      f"(TensorRT {c.get('tensorrt')}{'' if c.get('exact') else ', not an exact match'})")
        if c.get("note"):
            console.print(f"  {c['note']}", soft_wrap=True)
        # The same warnings `convert --container` prints, so the table's verified/unverified status
        # reads the same in both commands.
        for warning in c.get("warnings") or ():
            console.print(f"  warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    for line in report["implications"]:
        console.print(f"- {line}", soft_wrap=True)
