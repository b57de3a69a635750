"""`edgetrt bench` and `edgetrt report`."""

from pathlib import Path
from typing import List, Optional

import typer

from edgetrt.cli.options import (BackendOpt, BatchOpt, ForceFitOpt, ForceInt8Opt, HostOpt, InventoryOpt, JsonOpt,
                                 KnownHostsOpt, LayoutOpt, LimitOpt, LockClocksOpt, MemoryLimitOpt, NoShareOpt,
                                 NoTransfersOpt, ParallelOpt, PowerModeOpt, PrecisionOpt, RemoteRootOpt, RigorousOpt,
                                 SshConfigOpt, TimeoutOpt, TrustNewHostOpt, WarmupOpt, WeightsOpt, WorkspaceMbOpt)


def bench_cmd(
    models: Optional[List[str]] = typer.Argument(None, help="Zoo names or model files (default: mobilenet_v2)."),
    device: Optional[str] = typer.Option(None, "--device", "-d", help="Device(s): NAME, a,b,c, or @GROUP with "
                                         "--inventory (default: this host)."),
    inventory: Optional[Path] = InventoryOpt, limit: Optional[str] = LimitOpt, parallel: Optional[int] = ParallelOpt,
    no_share: bool = NoShareOpt,
    remote: bool = typer.Option(False, "--remote", help="Run on the configured device(s) "
                                "(default_device / remote_devices in ~/.config/edgetrt/config.yaml)."),
    backend: Optional[str] = BackendOpt, precision: Optional[str] = PrecisionOpt,
    batch: Optional[str] = BatchOpt, force_int8: bool = ForceInt8Opt,
    iterations: int = typer.Option(10, "--iterations", help="Time at least this many iterations ..."),
    duration: float = typer.Option(3.0, "--duration", help="... and at least this many seconds."),
    warmup_ms: float = WarmupOpt, timeout: float = TimeoutOpt, memory_limit_mb: Optional[int] = MemoryLimitOpt,
    lock_clocks: bool = LockClocksOpt, power_mode: Optional[int] = PowerModeOpt,
    no_transfers: bool = NoTransfersOpt, rigorous: bool = RigorousOpt,
    workspace_mb: Optional[int] = WorkspaceMbOpt, force: bool = ForceFitOpt,
    weights: str = WeightsOpt, layout: Optional[str] = LayoutOpt,
    images: Optional[Path] = typer.Option(None, "--images", help="Directory of real images for accuracy "
                                          "agreement and INT8 calibration (default: tests/data/images)."),
    profile: bool = typer.Option(False, "--profile", help="Per-layer times (ONNX Runtime profiler; trtexec "
                                 "--dumpProfile on TensorRT devices). Profiled timings include profiler overhead."),
    host: Optional[str] = HostOpt, ssh_config: Optional[Path] = SshConfigOpt,
    known_hosts: Optional[Path] = KnownHostsOpt, remote_root: Optional[str] = RemoteRootOpt,
    trust_new_host: bool = TrustNewHostOpt, json_out: bool = JsonOpt,
):
    """Benchmark a matrix of models × backends × precisions × batches, with accuracy agreement."""
    from edgetrt import api
    from edgetrt.cli import render
    from edgetrt.api import ConnectOptions

    progress = render.RichProgress(enabled=not json_out)
    try:
        records = api.bench(
            [api.ModelOptions(model=m, weights=weights, layout=layout) for m in (models or ["mobilenet_v2"])],
            device_name=device, remote=remote, inventory=inventory, limit=limit, parallel=parallel,
            share_engines=not no_share, backends=backend, precisions=precision, batches=batch,
            force_int8=force_int8, images=images, profile=profile,
            measure=api.MeasureOptions(warmup_ms=warmup_ms, min_iterations=iterations, min_seconds=duration,
                                       timeout_s=timeout, memory_limit_mb=memory_limit_mb,
                                       lock_clocks=lock_clocks, power_mode=power_mode,
                                       no_transfers=no_transfers, rigorous=rigorous, workspace_mb=workspace_mb),
            connect=ConnectOptions(host=host, ssh_config=ssh_config, known_hosts=known_hosts,
                                   trust_new_host=trust_new_host, remote_root=remote_root),
            progress=progress, force_fit=force)
    finally:
        progress.close()
    if json_out:
        render.print_json(records[0] if len(records) == 1 else api.bench_fleet_document(records))
    else:
        for record in records:
            render.bench_table(record)
        if len(records) > 1:
            render.fleet_summary(api.bench_fleet_document(records))
    if any(record["device"].get("error") for record in records) or \
            any(cell["status"] != "ok" for record in records for cell in record["cells"]):
        raise typer.Exit(1)  # every cell is reported, but at least one did not end ok


def report_cmd(
    runs: Optional[List[str]] = typer.Argument(None, help="Run ids (prefixes), files, or 'latest' (default)."),
    fmt: str = typer.Option("md", "--format", help="md | csv | html"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write here instead of standard output."),
    compare: Optional[List[str]] = typer.Option(None, "--compare", help="OLD NEW: mark regressions and "
                                                "improvements (give --compare twice, or 'previous latest')."),
    threshold: float = typer.Option(0.10, "--threshold", help="Relative change that counts (0.10 = 10%)."),
    json_out: bool = JsonOpt,
):
    """Render saved bench runs as Markdown, CSV or a self-contained HTML file with charts."""
    from edgetrt import api
    from edgetrt.cli import render

    doc = api.report(runs or ["latest"], fmt=fmt, compare=compare, threshold=threshold)
    if json_out:
        render.print_json(doc["json"])
        return
    if out:
        out.write_text(doc["text"], encoding="utf-8")
        render.err.print(f"wrote {out}")
    else:
        render.out.print(doc["text"], markup=False, highlight=False, soft_wrap=True)
