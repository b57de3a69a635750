"""The memory preflight (run/preflight*.py): graph figures from ONNX shape inference, the JetPack 4
overheads against the real Nano logs they come from, the estimate against the memory figures
those logs state, verdicts, cures, the workspace default of small boards, the skip before upload,
and `edgetrt preflight`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from edgetrt.config.profiles import load_profiles
from edgetrt.run import preflight
from edgetrt.run.preflight_cells import device_for
from edgetrt.run.preflight_graph import GraphFacts, read_graph

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
MIB = 1 << 20


def log(name):
    return next((FIXTURES / "errors").glob(name + "_*.txt"), None) or next((FIXTURES / "logs").glob(name + "_*.txt"))


def mem_usage(name, what, column):
    """Every '[MemUsageChange] <what>: CPU +a, GPU +b' figure of one real log, column CPU or GPU."""
    pattern = re.compile(r"\[MemUsageChange\] " + re.escape(what) + r": CPU \+(\d+), GPU \+(\d+)")
    return [int(m.group(1 if column == "CPU" else 2)) for m in pattern.finditer(log(name).read_text())]


# ---- the graph -----------------------------------------------------------------------------------

def tiny_model(path):
    """input [N,8] -> MatMul W1 [8,16] -> Relu (in place) -> MatMul W2 [16,4] -> output, made here."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w1 = numpy_helper.from_array(np.ones((8, 16), np.float32), "w1")
    w2 = numpy_helper.from_array(np.ones((16, 4), np.float32), "w2")
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["y"])]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], [w1, w2])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def test_weights_and_the_liveness_peak_from_shape_inference(tmp_path):
    facts = read_graph(tiny_model(tmp_path / "tiny.onnx"), batch=8)
    assert facts.params == 8 * 16 + 16 * 4 and facts.weight_bytes == 4 * (8 * 16 + 16 * 4)
    # alive at once, batch 8: x (64) + h (128) at the first MatMul; Relu writes into h; then
    # h/r (128) + y (32): the peak is 192 elements, 768 bytes
    assert facts.activation_peak_elements == 8 * 8 + 8 * 16
    assert facts.activation_peak_bytes == 4 * facts.activation_peak_elements
    assert facts.io_bytes == 4 * (8 * 8 + 8 * 4) and facts.unknown_shapes == 0


def test_activations_grow_with_the_batch(tmp_path):
    path = tiny_model(tmp_path / "tiny.onnx")
    assert read_graph(path, 32).activation_peak_bytes == 4 * read_graph(path, 8).activation_peak_bytes


def tiny_artifact(where: Path):
    """tiny_model as a real artifact directory (its manifest lists model.onnx by its SHA-256)."""
    from edgetrt.convert.artifacts import ArtifactWriter

    with ArtifactWriter(where) as writer:
        tiny_model(writer.dir / "model.onnx")
        return writer.finish({"model": "tiny", "formats": {"onnx": "model.onnx"}})


def test_graph_figures_are_kept_by_the_files_they_come_from(tmp_path, monkeypatch):
    """A second run on the same artifact reads the figures back (no onnx, no shape inference); a
    changed model file, another batch or an unreadable record reads the graph again."""
    from edgetrt.run import preflight_graph
    from edgetrt.run.preflight_graph import CACHE_PART, GraphCache

    monkeypatch.setenv("EDGETRT_CACHE", str(tmp_path / "cache"))
    artifact = tiny_artifact(tmp_path / "artifact")
    first = GraphCache(artifact)("onnx", 8)
    assert first == read_graph(artifact.path / "model.onnx", 8)
    [kept] = (tmp_path / "cache" / CACHE_PART).iterdir()

    reads = []
    monkeypatch.setattr(preflight_graph, "read_graph", lambda path, batch: reads.append((path, batch)) or first)
    assert GraphCache(artifact)("onnx", 8) == first and reads == []  # read back, the path its own
    assert GraphCache(artifact)("onnx_fp16", 8) == first and reads == []  # no such form: the ONNX one

    GraphCache(artifact)("onnx", 16)
    assert reads == [(artifact.path / "model.onnx", 16)]
    changed = replace(artifact, manifest=dict(artifact.manifest, files=[dict(artifact.files[0], sha256="0" * 64)]))
    GraphCache(changed)("onnx", 8)
    assert len(reads) == 2
    kept.write_text("{not json")
    GraphCache(artifact)("onnx", 8)
    assert len(reads) == 3


# ---- the overheads table against the real Nano logs ----------------------------------------------

NANO_LOGS = ("C27", "C28", "B58")  # trtexec 8.2.1 build, trtexec 8.0.1 load, TensorRT 8.x Python run


def test_jetpack4_overheads_are_the_largest_the_real_nano_logs_state():
    row = preflight.overheads()["tensorrt"]["jetpack4"]
    assert row["cuda_context_mb"] == max(v for n in NANO_LOGS for v in mem_usage(n, "Init CUDA", "CPU"))
    assert row["cublas_mb"] == max(v for n in NANO_LOGS for v in mem_usage(n, "Init cuBLAS/cuBLASLt", "GPU"))
    assert row["cudnn_mb"] == max(v for n in NANO_LOGS for v in mem_usage(n, "Init cuDNN", "GPU"))
    assert mem_usage("C27", "Init CUDA", "CPU") == [229]  # the figure the table's source line names


def test_a_run_estimate_against_the_real_nano_python_run_that_was_killed():
    """B58: a TensorRT 8.x Python run on a Jetson Nano, 'Loaded engine size: 181 MB', then
    'Killed'. Board-wide memory (the GPU column on a Jetson) grew from 1891 MiB after CUDA's init
    to 3210 MiB when the execution context was made, plus CUDA's own +197 MiB that column did not
    show. The estimate, given the engine size and the context's growth the log states, lands
    within 25 % of that growth."""
    text = log("B58").read_text()
    engine_mb = int(re.search(r"Loaded engine size: (\d+) MB", text).group(1))
    after_cuda = int(re.search(r"Init CUDA: CPU \+\d+, GPU \+\d+, now: CPU \d+, GPU (\d+)", text).group(1))
    begin, end = (int(x) for x in re.search(r"ExecutionContext creation begin: CPU \d+ MiB, GPU (\d+) MiB.*?"
                                            r"ExecutionContext creation end: CPU \d+ MiB, GPU (\d+) MiB",
                                            text, re.S).groups())
    observed = (end - after_cuda) + mem_usage("B58", "Init CUDA", "CPU")[0]
    graph = GraphFacts("B58", 1, params=int((engine_mb - preflight.ENGINE_EXTRA_MB) * MIB / 4), weight_bytes=0,
                       activation_peak_bytes=(end - begin) * MIB, activation_peak_elements=(end - begin) * MIB // 4,
                       io_bytes=0, tensors=0, unknown_shapes=0)
    _, run_mb, parts = preflight.tensorrt_peaks(graph, "fp32", "jetpack4", 256, preflight.overheads())
    assert parts["run"]["engine"] == pytest.approx(engine_mb)
    assert 0.75 <= run_mb / observed <= 1.25, (run_mb, observed)


def test_the_real_tactic_requests_that_did_not_fit_are_verdicts_of_will_not_fit():
    for name in ("B79", "B81"):
        for request, available in re.findall(r"Tactic Device request: (\d+)MB Available: (\d+)MB", log(name).read_text()):
            assert preflight.verdict_for(float(request), float(available)) == "will not fit", (name, request)


def test_the_real_nano_build_with_a_2048_mib_workspace_gets_a_smaller_workspace_as_its_cure():
    """C27: trtexec 8.2.1 on a Nano asked for a 2048 MiB workspace; TensorRT said 'Some tactics do
    not have sufficient workspace memory' and its allocators peaked at 1112 MiB. With the log's
    own engine (GPU +186 MiB at deserialization) and context (+80 MiB) on a Nano 4 GB, the estimate
    says the build will not fit and cures it with a workspace no larger than what TensorRT managed."""
    text = log("C27").read_text()
    workspace = int(re.search(r"Workspace: (\d+) MiB", text).group(1))
    engine = int(re.search(r"allocation in engine deserialization: CPU \+\d+, GPU \+(\d+)", text).group(1))
    context = int(re.search(r"allocation in IExecutionContext creation: CPU \+\d+, GPU \+(\d+)", text).group(1))
    allocator_peak = int(re.search(r"memory allocators: CPU \d+ MiB, GPU (\d+) MiB", text).group(1))
    assert (workspace, engine, context, allocator_peak) == (2048, 186, 80, 1112)
    assert "Some tactics do not have sufficient workspace memory" in text
    graph = GraphFacts("C27", 1, params=int((engine - preflight.ENGINE_EXTRA_MB) * MIB / 4), weight_bytes=0,
                       activation_peak_bytes=context * MIB, activation_peak_elements=context * MIB // 4,
                       io_bytes=0, tensors=0, unknown_shapes=0)
    estimate = preflight.estimate_cell(lambda fmt, batch: graph, "tensorrt", "fp32", 1, device_for("nano"),
                                       workspace_mb=workspace)
    assert estimate.verdict == "will not fit"
    assert estimate.advice.startswith("--workspace-mb ") and "Killed" in estimate.advice
    smaller = int(estimate.advice.split()[1].rstrip(":"))
    assert 16 <= smaller <= allocator_peak
    cured = preflight.estimate_cell(lambda fmt, batch: graph, "tensorrt", "fp32", 1, device_for("nano"),
                                    workspace_mb=smaller)
    assert cured.verdict == "fits"


# ---- verdicts, cures, defaults ---------------------------------------------------------------------

def vgg_like(batch=1):
    """VGG-16's sizes: 138,357,544 parameters, 3.06 M float activations alive at once at batch 1."""
    return GraphFacts("vgg-like", batch, 138357544, 138357544 * 4, 3211264 * 4 * batch, 3211264 * batch,
                      (150528 + 1000) * 4 * batch, 0, 0)


def test_verdict_thresholds():
    assert preflight.verdict_for(79, 100) == "fits" and preflight.verdict_for(95, 100) == "tight"
    assert preflight.verdict_for(101, 100) == "will not fit" and preflight.verdict_for(1, None) == "unknown"


def test_fp32_that_does_not_fit_is_told_about_fp16():
    estimate = preflight.estimate_cell(lambda fmt, b: vgg_like(b), "tensorrt", "fp32", 1, device_for("nano"))
    assert estimate.verdict in ("tight", "will not fit")
    assert "--precision fp16" in estimate.advice


def test_a_batch_that_does_not_fit_is_told_the_batch_that_does():
    device = device_for("orin-nano")
    probe = {"facts": {"mem_available_mb": {"value": 2700, "source": "written here"}}}
    estimate = preflight.estimate_cell(lambda fmt, b: vgg_like(b), "tensorrt", "fp16", 64, device, probe)
    assert estimate.verdict == "tight" and "--batch 32 (" in estimate.advice and estimate.advice.endswith("fits)")


def small(batch=1):
    """10 M parameters, 1 M activations alive at once: a model the size of a small detector."""
    return GraphFacts("small", batch, 10 * 10 ** 6, 40 * 10 ** 6, 4 * 10 ** 6 * batch, 10 ** 6 * batch, 0, 0, 0)


def test_small_boards_default_the_workspace_to_what_is_left_and_never_above_256():
    nano2 = preflight.estimate_cell(lambda fmt, b: small(b), "tensorrt", "fp16", 1, device_for("nano-2gb"))
    assert 16 <= nano2.workspace_mb < 256 and nano2.workspace_mb % 16 == 0
    assert nano2.verdict == "fits"  # what it leaves free is what it takes
    nano = preflight.estimate_cell(lambda fmt, b: small(b), "tensorrt", "fp16", 1, device_for("nano"))
    assert nano.workspace_mb == 256
    orin = preflight.estimate_cell(lambda fmt, b: vgg_like(b), "tensorrt", "fp16", 1, device_for("agx-orin"))
    assert orin.workspace_mb == 256


def test_unprobed_devices_say_their_available_memory_is_an_assumption():
    estimate = preflight.estimate_cell(lambda fmt, b: vgg_like(b), "tensorrt", "fp16", 1, device_for("nano-2gb"))
    assert estimate.available_mb == 2048 - 512 and estimate.available_from.startswith("not probed")
    assert estimate.verdict == "will not fit"
    assert "build the engine on a board with more memory" in estimate.advice


def test_profiles_can_be_named_without_a_device_file():
    assert device_for("nano-2gb").facts == load_profiles()["nano-2gb"]


# ---- the skip before upload -------------------------------------------------------------------------

def test_a_cell_that_will_not_fit_is_skipped_unless_forced(tmp_path):
    from edgetrt.convert.artifacts import Artifact
    from edgetrt.progress import NULL_PROGRESS
    from edgetrt.run.execute import Conversion, DeviceRun, preflight_cell
    from edgetrt.run.plan import Cell, DevicePlan, MeasureOptions, Plan

    directory = tmp_path / "artifact"
    directory.mkdir()
    tiny_model(directory / "model.onnx")
    artifact = Artifact(directory, {"formats": {"onnx": "model.onnx"}, "model": "tiny", "files": []})
    device = device_for("local")
    cell = Cell("tiny", "onnxruntime", "fp32", 1)
    conversion = Conversion("tiny", artifact=artifact)
    for force, available in ((False, 10), (True, 10), (False, 100000)):
        plan = Plan((), (), {}, MeasureOptions(), force_fit=force)
        run = DeviceRun(DevicePlan(device, ("onnxruntime",), ("fp32",), (1,)),
                        probe={"facts": {"mem_available_mb": {"value": available, "source": "written here"}}})
        result = preflight_cell(plan, run, cell, conversion, NULL_PROGRESS)
        assert run.preflight[cell].verdict == ("will not fit" if available == 10 else "fits")
        if force or available > 10:
            assert result is None
        else:
            assert result.status == "skipped" and result.preflight["verdict"] == "will not fit"
            assert result.message.startswith("not run: the memory preflight estimates run ")
            assert result.message.endswith("--force runs it anyway")


# ---- the command -------------------------------------------------------------------------------------

def test_edgetrt_preflight_json_for_an_onnx_file(tmp_path):
    model = tiny_model(tmp_path / "tiny.onnx")
    env = {"PYTHONPATH": str(REPO), "EDGETRT_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "edgetrt", "preflight", str(model), "--device", "nano-2gb",
                           "--backend", "tensorrt", "--precision", "fp16", "--batch", "1,8", "--json"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    cells = doc["cells"]
    assert [(c["backend"], c["precision"], c["batch"]) for c in cells] == [("tensorrt", "fp16", 1), ("tensorrt", "fp16", 8)]
    for cell in cells:
        assert {"backend", "precision", "batch", "build_mb", "run_mb", "available_mb", "verdict", "advice"} <= set(cell)
        assert cell["available_mb"] == 1536 and cell["verdict"] in ("fits", "tight")
    assert doc["graph_from"].startswith("ONNX shape inference on ")


@pytest.mark.slow
def test_the_keras_figures_agree_with_the_onnx_ones_for_a_real_model(tmp_path, monkeypatch):
    """A zoo model never converted here is read from its Keras definition: its parameters and its
    activation peak lie within 5 % and 25 % of the ONNX artifact's (tf2onnx folds the batch norms'
    four parameters per channel into the convolutions, so the ONNX graph has fewer of both)."""
    monkeypatch.setenv("EDGETRT_CACHE", str(tmp_path / "cache"))
    from edgetrt.api import ModelOptions, convert_model
    from edgetrt.run.preflight_cells import KerasGraphs, cached_artifact, graphs_for

    opts = ModelOptions(model="mobilenet_v1_0.25_128", weights="random")
    graphs, source = graphs_for(opts)
    assert isinstance(graphs, KerasGraphs) and source.startswith("the tf.keras.applications model")
    keras = graphs("onnx", 8)
    artifact = convert_model(opts, formats=("onnx",)).artifact
    assert cached_artifact(opts) is not None
    onnx = read_graph(artifact.path / artifact.manifest["formats"]["onnx"], 8)
    assert 1.0 <= keras.params / onnx.params <= 1.05
    assert 0.75 <= keras.activation_peak_elements / onnx.activation_peak_elements <= 1.25
