"""Shared typer options: flags map one to one onto API objects."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout instead of tables.")
WeightsOpt = typer.Option("auto", "--weights", help="imagenet | random | auto | PATH to a Keras .h5 file. "
                          "auto = imagenet when it can be had, else random with a warning.")
AlphaOpt = typer.Option(None, "--alpha", help="Width multiplier (MobileNet), e.g. 0.25.")
InputSizeOpt = typer.Option(None, "--input-size", help="Input resolution, e.g. 128.")
InputNamesOpt = typer.Option(None, "--input", help="Frozen graph input tensor name (e.g. input:0).")
OutputNamesOpt = typer.Option(None, "--output", help="Frozen graph output tensor name(s).")
PreprocessingOpt = typer.Option(None, "--preprocessing", help="tf | caffe | torch (user models; zoo "
                                "models use their recipe).")
LayoutOpt = typer.Option(None, "--layout", help="NHWC | NCHW: the image layout of the model's input "
                         "(default: read from its shape, [N,H,W,3] or [N,3,H,W]).")
ForceOpt = typer.Option(False, "--force", help="Convert again even if a cached artifact matches.")

HostOpt = typer.Option(None, "--host", help="ALIAS from ~/.ssh/config or user@addr[:port]; overrides "
                       "the device file's connection.")
SshConfigOpt = typer.Option(None, "--ssh-config", help="ssh config file (default ~/.ssh/config).")
KnownHostsOpt = typer.Option(None, "--known-hosts", help="known_hosts file (default ~/.ssh/known_hosts).")
RemoteRootOpt = typer.Option(None, "--remote-root", help="edgetrt's directory on the device "
                             "(default ~/.edgetrt).")
TrustNewHostOpt = typer.Option(False, "--trust-new-host", help="Accept and record the host key of a "
                               "device never seen before (a changed key is always refused).")
VerifyOpt = typer.Option(False, "--verify", help="Hash every file in the device store before using it "
                         "(by default only files whose size or recorded mtime/ctime changed are hashed).")

DeviceOpt = typer.Option("local", "--device", "-d", help="Device(s): NAME, a,b,c, or @GROUP (with --inventory); "
                         "see `edgetrt devices`.")
InventoryOpt = typer.Option(None, "--inventory", "-i", help="An Ansible inventory file (INI or YAML): its hosts are "
                            "devices (edgetrt_profile, ansible_host, ansible_user, ... host variables).")
LimitOpt = typer.Option(None, "--limit", help="Ansible-style pattern narrowing the devices selected: "
                        "'nano*', 'jetsons:!broken'.")
ParallelOpt = typer.Option(None, "--parallel", help="At most this many devices at once (default: all, up "
                           "to 16); each device runs its cells one at a time.")

NoShareOpt = typer.Option(False, "--no-share", help="Every device builds its own TensorRT engines (by default "
                          "the first board of each kind builds and the others of the same TensorRT and GPU "
                          "load its engine and get its builder timing cache).")

ProfileOpt = typer.Option(False, "--profile", help="Per-layer times (ONNX Runtime's profiler, which runs "
                          "during the timed loop: those timings are marked profiled; TensorRT's IProfiler "
                          "after it; trtexec --dumpProfile in a separate run).")

BackendOpt = typer.Option(None, "--backend", help="Comma list: tf,onnxruntime,tensorrt.")
PrecisionOpt = typer.Option(None, "--precision", help="Comma list: fp32,fp16,int8.")
BatchOpt = typer.Option(None, "--batch", help="Comma list of batch sizes, e.g. 1,8.")
ForceInt8Opt = typer.Option(False, "--force-int8", help="Measure INT8 even on GPUs without fast INT8.")
WarmupOpt = typer.Option(200.0, "--warmup-ms", help="Warm up for at least this long before timing.")
IterationsOpt = typer.Option(10, "--iterations", help="Time at least this many iterations ...")
DurationOpt = typer.Option(3.0, "--duration", help="... and for at least this many seconds.")
TimeoutOpt = typer.Option(600.0, "--timeout", help="Seconds before a run counts as 'timeout'.")
MemoryLimitOpt = typer.Option(None, "--memory-limit-mb", help="Address-space limit for each run "
                              "(makes a real out-of-memory where the device has more).")
LockClocksOpt = typer.Option(False, "--lock-clocks", help="Pin the clocks with jetson_clocks for each run and "
                             "restore them after (needs passwordless sudo for jetson_clocks).")
PowerModeOpt = typer.Option(None, "--power-mode", help="nvpmodel -m N for each run, restored after (needs "
                            "passwordless sudo for nvpmodel).")
NoTransfersOpt = typer.Option(False, "--no-transfers", help="TensorRT: time without host<->device copies "
                              "(trtexec's --noDataTransfers).")
RigorousOpt = typer.Option(False, "--rigorous", help="Warm up until the temperature is steady, then time "
                           ">= 1024 queries and >= 60 s with clocks locked; p90 with its confidence interval.")
WorkspaceMbOpt = typer.Option(None, "--workspace-mb", help="TensorRT builder workspace in MiB (default 256; "
                              "on boards of 4 GB or less what the memory preflight leaves free).")
ForceFitOpt = typer.Option(False, "--force", help="Run cells the memory preflight says will not fit.")
DeployForceOpt = typer.Option(False, "--force", help="Convert again even if a cached artifact matches, and run "
                              "cells the memory preflight says will not fit.")

__all__ = [n for n in dir() if n.endswith("Opt")] + ["List", "Optional", "Path"]
