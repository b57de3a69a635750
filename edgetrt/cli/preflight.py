"""`edgetrt preflight`: the memory estimate of a model's cells on a device, before anything is built."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from edgetrt.cli.options import (AlphaOpt, BackendOpt, BatchOpt, HostOpt, InputNamesOpt, InputSizeOpt, JsonOpt,
                                 KnownHostsOpt, OutputNamesOpt, PrecisionOpt, PreprocessingOpt, RemoteRootOpt,
                                 SshConfigOpt, TrustNewHostOpt, WeightsOpt, WorkspaceMbOpt)


def preflight_cmd(
    model: str = typer.Argument(..., help="Zoo name or model file."),
    device: str = typer.Option(..., "--device", "-d", help="Device name, or a profile (nano, nano-2gb, ...)."),
    backend: Optional[str] = BackendOpt, precision: Optional[str] = PrecisionOpt, batch: Optional[str] = BatchOpt,
    workspace_mb: Optional[int] = WorkspaceMbOpt,
    probe: bool = typer.Option(False, "--probe", help="Connect and read the device's own available memory "
                               "(otherwise its profile's size less an assumed reserve)."),
    weights: str = WeightsOpt, alpha: Optional[float] = AlphaOpt, input_size: Optional[int] = InputSizeOpt,
    inputs: Optional[List[str]] = InputNamesOpt, outputs: Optional[List[str]] = OutputNamesOpt,
    preprocessing: Optional[str] = PreprocessingOpt,
    host: Optional[str] = HostOpt, ssh_config: Optional[Path] = SshConfigOpt,
    known_hosts: Optional[Path] = KnownHostsOpt, remote_root: Optional[str] = RemoteRootOpt,
    trust_new_host: bool = TrustNewHostOpt, json_out: bool = JsonOpt,
):
    """Estimate each cell's peak memory (engine build and run) against the device's available memory:
    fits / tight / will not fit, with the cure (exit 1 when a cell will not fit)."""
    from edgetrt import api
    from edgetrt.cli import render

    opts = api.ModelOptions(model=model, weights=weights, alpha=alpha, input_size=input_size,
                            input_names=tuple(inputs or ()), output_names=tuple(outputs or ()),
                            preprocessing=preprocessing)
    doc = api.preflight(opts, device, backends=backend, precisions=precision, batches=batch, probe=probe,
                        workspace_mb=workspace_mb,
                        connect=api.ConnectOptions(host=host, ssh_config=ssh_config, known_hosts=known_hosts,
                                                   trust_new_host=trust_new_host, remote_root=remote_root))
    render.print_json(doc) if json_out else render.preflight_table(doc)
    if any(cell["verdict"] == "will not fit" for cell in doc["cells"]):
        raise typer.Exit(1)
