"""The memory preflight for a model's cells on a device: ``edgetrt preflight`` (``preflight``) and
the check ``deploy`` and ``bench`` make before each cell is uploaded and run (``check_cell``).

The model's graph comes from its ONNX artifact: the one the run converted, or for ``edgetrt
preflight`` the one already in the cache (any weights: they do not change the sizes). A zoo
model that was never converted here is read from its tf.keras.applications model instead, so a
preflight never runs a conversion (VGG's needs more memory than this host has).
"""

from __future__ import annotations

from edgetrt.config.devices import DeviceSpec, load_device
from edgetrt.errors import UsageError
from edgetrt.run.preflight import CellEstimate, estimate_cell, overheads
from edgetrt.run.preflight_graph import GraphCache, read_keras_graph

ESTIMATED_BACKENDS = ("tensorrt", "onnxruntime")


def device_for(name: str) -> DeviceSpec:
    """A device file by name, else a profile by name (``nano-2gb``: no device file needed)."""
    from edgetrt.config.profiles import load_profiles

    try:
        return load_device(name)
    except UsageError:
        profiles = load_profiles()
        if name not in profiles:
            raise
        return DeviceSpec(name=name, profile=name, facts=dict(profiles[name]),
                          description="profile {} (no device file)".format(name))


def cached_artifact(opts):
    """The model's artifact with an ONNX form in the host cache, converting nothing; or None."""
    from edgetrt.config import paths
    from edgetrt.convert.artifacts import Artifact
    from edgetrt.convert.pipeline import cache_key
    from edgetrt.errors import ModelFileError
    from edgetrt.zoo.weights import WeightsChoice

    source = opts.resolve()
    for weights in dict.fromkeys((opts.weights, "auto", "imagenet", "random")):
        key = cache_key(source, WeightsChoice.parse(weights))
        target = paths.cache_home() / "artifacts" / paths.cache_dir_name(source.name, key)
        try:
            artifact = Artifact.open(target)
        except ModelFileError:
            continue
        if artifact.manifest.get("cache_key") == key and artifact.has_format("onnx"):
            return artifact
    return None


class KerasGraphs:
    """``graphs(fmt, batch)`` from a zoo model's Keras definition (random weights: sizes only)."""

    def __init__(self, opts):
        from edgetrt.zoo.keras_builder import build_keras_model
        from edgetrt.zoo.registry import resolve_model
        from edgetrt.zoo.weights import WeightsChoice

        request = resolve_model(opts.model, opts.alpha, opts.input_size)
        self.model, _ = build_keras_model(request, WeightsChoice.parse("random"))
        self.name = request.name
        self._cache: dict = {}

    def __call__(self, fmt: str, batch: int):
        if batch not in self._cache:
            self._cache[batch] = read_keras_graph(self.model, batch, f"keras.applications model {self.name}")
        return self._cache[batch]


def graphs_for(opts, convert_if_missing: bool = False):
    """(graphs callable, where the graph comes from)."""
    artifact = cached_artifact(opts)
    if artifact is None and opts.resolve().kind == "zoo" and not convert_if_missing:
        return KerasGraphs(opts), ("the tf.keras.applications model's layer shapes (no ONNX artifact of it in "
                                   "the cache: `edgetrt convert` it for an ONNX-based estimate)")
    if artifact is None:
        from edgetrt.convert.pipeline import convert_model

        artifact = convert_model(opts, formats=("onnx",)).artifact
    return GraphCache(artifact), f"ONNX shape inference on {artifact.path / artifact.manifest['formats']['onnx']}"


def preflight(opts, device_name: str, *, backends: str | None = None, precisions: str | None = None,
              batches: str | None = None, probe: dict | None = None, workspace_mb: float | None = None) -> dict:
    """``{"model", "device", "graph_from", "cells": [CellEstimate.to_dict()], "notes"}``."""
    from edgetrt.run.plan import plan_device

    device = device_for(device_name)
    dp = plan_device(device, backends, precisions, batches, force_int8=True)
    notes = []
    left_out = [b for b in dp.backends if b not in ESTIMATED_BACKENDS]
    if left_out:
        notes.append(f"{', '.join(left_out)}: not estimated (the preflight models tensorrt and onnxruntime)")
    cells = [c for c in dp.cells(opts.model, opts.resolve().kind) if c.backend in ESTIMATED_BACKENDS]
    if not cells:
        raise UsageError(f"nothing to estimate for {opts.model} with backends {', '.join(dp.backends)}",
                         hint="the preflight estimates --backend tensorrt and onnxruntime")
    graphs, graph_from = graphs_for(opts)
    table = overheads()
    estimates = [estimate_cell(graphs, c.backend, c.precision, c.batch, device, probe, workspace_mb, table)
                 for c in cells]
    return {"model": opts.model, "device": {"name": device.name, "profile": device.profile,
                                            "memory_mb": device.facts.get("memory_mb"),
                                            "board": device.facts.get("board")},
            "graph_from": graph_from, "probed": bool(probe),
            "cells": [e.to_dict() for e in estimates], "notes": notes}


def check_cell(cell, device: DeviceSpec, probe: dict | None, artifact, workspace_mb: float | None,
               cache: dict) -> CellEstimate | None:
    """The estimate of one planned cell from its converted artifact (None for backends the
    preflight does not model). ``cache`` keeps one GraphCache per artifact across cells."""
    if cell.backend not in ESTIMATED_BACKENDS or artifact is None:
        return None
    graphs = cache.setdefault(str(artifact.path), GraphCache(artifact))
    return estimate_cell(graphs, cell.backend, cell.precision, cell.batch, device, probe, workspace_mb)


def skipped_message(estimate: CellEstimate) -> str:
    """The one line a skipped cell carries."""
    build = f"build {estimate.build_mb:.0f} MB, " if estimate.build_mb is not None else ""
    return (f"not run: the memory preflight estimates {build}run {estimate.run_mb:.0f} MB against "
            f"{estimate.available_mb:.0f} MB available ({estimate.verdict}); {estimate.advice}; "
            "--force runs it anyway")
