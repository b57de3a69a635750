"""Markdown/CSV tables, run history and comparison on records shaped like the matrix runner's."""

from __future__ import annotations

import csv
import io
import json

import pytest

from edgetrt.bench import history
from edgetrt.bench.compare import compare, compare_markdown, regressions
from edgetrt.bench.report_tables import csv_text, markdown
from edgetrt.errors import ModelFileError, UsageError

from bench_records import nano_record, slowed  # noqa: E402  (tests/bench/, on sys.path via conftest)


def _md_table(text: str, title_start: str) -> dict:
    """{model: {column: cell text}} of the Markdown table under the heading that starts so."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## " + title_start))
    rows = [line for line in lines[start + 1:] if line.startswith("|")]
    end = next((i for i, line in enumerate(lines[start + 2:]) if line.startswith("## ")), None)
    rows = [r for r in lines[start + 1:start + 2 + end] if r.startswith("|")] if end is not None else rows
    header = [h.strip() for h in rows[0].strip("|").split("|")]
    table = {}
    for row in rows[2:]:
        values = [v.strip() for v in row.strip("|").split("|")]
        table[values[0]] = dict(zip(header[1:], values[1:]))
    return table


def test_markdown_puts_status_words_in_the_failed_cells(record):
    text = markdown(record)
    latency = _md_table(text, "Steady-state latency")
    assert latency["vgg_16"] == {"tf fp32": "killed", "onnxruntime fp32": "killed", "tensorrt fp16": "timeout",
                                 "tensorrt int8": "—"}
    assert latency["resnet_v1_50"]["onnxruntime fp32"] == "crashed"
    assert latency["resnet_v1_50"]["tensorrt fp16"] == "oom"
    assert latency["resnet_v1_50"]["tensorrt int8"] == "error"
    assert latency["mobilenet_v2_1.0_224"]["tensorrt int8"] == "incompatible"
    assert latency["inception_v3"]["onnxruntime fp32"] == "—"
    median = record["cells"][0]["steady"]["latency_ms"]["median"]
    assert float(latency["mobilenet_v1_1.0_224"]["tf fp32"]) == pytest.approx(median, rel=0.01)
    fps = _md_table(text, "Throughput")
    assert fps["resnet_v1_50"]["tensorrt fp16"] == "oom"
    assert float(fps["mobilenet_v1_1.0_224"]["tensorrt int8"]) > float(fps["mobilenet_v1_1.0_224"]["tf fp32"])
    first = _md_table(text, "First run")
    assert first["mobilenet_v1_1.0_224"]["tensorrt fp16"].startswith("129589 (build 128000")
    memory = _md_table(text, "Peak memory")
    assert memory["vgg_16"]["tf fp32"] == "killed (3900)"
    sizes = _md_table(text, "File size")
    assert sizes["mobilenet_v1_1.0_224"]["original"] == "17.0 MB"
    assert sizes["mobilenet_v1_1.0_224"]["tensorrt int8"] == "5.0 MB"
    agreement = _md_table(text, "Agreement")
    assert "tf fp32" not in agreement["mobilenet_v1_1.0_224"]  # the reference has no agreement column
    assert agreement["mobilenet_v1_1.0_224"]["tensorrt int8"] == "4/4 · 0.95 · 0.031"
    assert agreement["vgg_16"]["tensorrt fp16"] == "timeout"


def test_markdown_prints_predictions_side_by_side_with_class_names(record):
    text = markdown(record)
    block = text.split("## Predictions", 1)[1]
    elephant = block.split("mobilenet_v1_1.0_224 — elephant.jpg", 1)[1].split("mobilenet_v1_1.0_224 —", 1)[0]
    lines = [line.strip() for line in elephant.strip().splitlines()]
    assert lines[0].startswith("tf fp32 (native)") and "[African elephant 0.60, tusker 0.20" in lines[0]
    assert lines[-1].startswith("tensorrt int8") and "toilet tissue" in lines[-1]
    assert "resnet_v1_50 onnxruntime fp32 b1: crashed — SIGSEGV" in text
    for word in ("oom", "killed", "timeout", "crashed", "incompatible", "error"):
        assert f"- `{word}`:" in text


def test_batch_becomes_part_of_the_column_when_there_are_several(record):
    extra = dict(record["cells"][0], batch=8)
    record["cells"].append(extra)
    text = markdown(record)
    assert "tf fp32 b1" in text and "tf fp32 b8" in text


def test_csv_has_models_as_rows_and_cells_as_columns(record):
    rows = list(csv.reader(io.StringIO(csv_text(record))))
    header = rows[0]
    assert header == ["model", "metric", "tf fp32", "onnxruntime fp32", "tensorrt fp16", "tensorrt int8"]
    table = {(r[0], r[1]): dict(zip(header[2:], r[2:])) for r in rows[1:]}
    assert table[("vgg_16", "status")]["tensorrt fp16"] == "timeout"
    assert table[("vgg_16", "latency_median_ms")]["tf fp32"] == "killed"
    assert table[("resnet_v1_50", "fps_median")]["tensorrt fp16"] == "oom"
    assert table[("mobilenet_v2_1.0_224", "first_run_ms")]["tensorrt int8"] == "incompatible"
    assert table[("resnet_v1_50", "peak_memory_mb")]["tensorrt int8"] == "error"
    assert table[("resnet_v1_50", "latency_median_ms")]["onnxruntime fp32"] == "crashed"
    assert table[("inception_v3", "latency_median_ms")]["tensorrt fp16"] == ""  # not run
    assert float(table[("mobilenet_v1_1.0_224", "latency_median_ms")]["tf fp32"]) == pytest.approx(
        record["cells"][0]["steady"]["latency_ms"]["median"], rel=1e-5)
    assert int(table[("vgg_16", "original_bytes")]["tf fp32"]) == 528 << 20


def test_compare_flags_a_slowed_run_and_a_new_oom():
    old = nano_record()
    new = slowed(old, 2.0)
    for cell in new["cells"]:
        if cell["model"] == "mobilenet_v1_1.0_224" and cell["backend"] == "tensorrt" and cell["precision"] == "fp16":
            cell.update(status="oom", steady=None, first_run_ms=None, message="CUDA_ERROR_OUT_OF_MEMORY")
    rows = {(r["model"], r["backend"], r["precision"]): r for r in compare(old, new)}
    slow = rows[("mobilenet_v1_1.0_224", "tf", "fp32")]
    assert slow["verdict"] == "regression" and slow["latency_ratio"] == pytest.approx(2.0)
    assert slow["fps_ratio"] == pytest.approx(0.5)
    oom = rows[("mobilenet_v1_1.0_224", "tensorrt", "fp16")]
    assert oom["verdict"] == "regression" and oom["reason"] == "ok → oom"
    assert rows[("vgg_16", "tf", "fp32")]["verdict"] == "same"  # killed both times
    ok_before = sum(1 for c in old["cells"] if c["status"] == "ok")
    assert len(regressions(list(rows.values()))) == ok_before
    text = compare_markdown(old, new)
    assert "▲ 2.00× slower" in text and "▲ ok → oom" in text and "= still killed" in text


def test_compare_sees_improvements_and_ignores_noise():
    old = nano_record()
    assert all(r["verdict"] == "same" for r in compare(old, slowed(old, 1.05)))
    faster = compare(old, slowed(old, 0.5))
    assert {r["verdict"] for r in faster if r["old_status"] == "ok"} == {"improvement"}
    fixed = slowed(old, 1.0)
    fixed["cells"] = [c for c in fixed["cells"] if c["model"] != "inception_v3"]
    target = next(c for c in fixed["cells"] if c["status"] == "oom")
    target.update(old["cells"][0], model=target["model"], backend=target["backend"], precision=target["precision"])
    rows = {(r["model"], r["backend"], r["precision"]): r for r in compare(old, fixed)}
    assert rows[("resnet_v1_50", "tensorrt", "fp16")]["verdict"] == "improvement"
    assert rows[("inception_v3", "tf", "fp32")]["verdict"] == "removed"
    with pytest.raises(UsageError):
        compare(old, fixed, threshold=0)


def test_history_saves_append_only_and_loads_by_id_prefix_and_alias(tmp_path):
    first = nano_record()
    second = slowed(first, 1.3)
    p1 = history.save_run(first, tmp_path)
    p2 = history.save_run(second, tmp_path)
    assert p1.name == f"20190908T162410Z-{first['run_id']}.json"
    assert history.save_run(first, tmp_path) == p1  # same content: same file, not a copy
    assert [r["run_id"] for r in history.list_runs(tmp_path)] == [first["run_id"], second["run_id"]]
    assert history.list_runs(tmp_path)[0]["failed"] == 7
    assert history.load_run("latest", tmp_path)["run_id"] == second["run_id"]
    assert history.load_run("previous", tmp_path)["run_id"] == first["run_id"]
    assert history.load_run(first["run_id"][:6], tmp_path) == json.loads(p1.read_text())
    assert history.load_run(str(p2), tmp_path)["run_id"] == second["run_id"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left
    with pytest.raises(UsageError):
        history.load_run("ffff", tmp_path)
    with pytest.raises(UsageError):
        history.load_run("latest", tmp_path / "empty")


def test_run_id_names_the_content(record):
    run_id = history.make_run_id(record)
    assert len(run_id) == 12 and int(run_id, 16) >= 0
    assert history.make_run_id(dict(record, saved_to="/x")) == run_id
    changed = json.loads(json.dumps(record))
    changed["cells"][0]["first_run_ms"] += 1
    assert history.make_run_id(changed) != run_id
    forged = dict(record, run_id="0123456789ab")
    with pytest.raises(UsageError):
        history.save_run(forged, "/nonexistent-never-created")


def test_history_rejects_files_that_are_not_bench_records(tmp_path):
    bad = tmp_path / "20200101T000000Z-0123456789ab.json"
    bad.write_text(json.dumps({"schema": "edgetrt.report/1"}))
    assert history.list_runs(tmp_path) == []
    with pytest.raises(ModelFileError, match="schema"):
        history.load_run(str(bad), tmp_path)
