"""Markdown/CSV tables, run history and comparison on records shaped like the matrix runner's."""

from __future__ import annotations

import csv
import io
import json
import re

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


# ---- random weights, --profile, device facts, fleets, device text ------------------------------

from edgetrt.bench import side_by_side  # noqa: E402
from edgetrt.bench.cells import headlines  # noqa: E402
from edgetrt.bench.report import render_report  # noqa: E402
from edgetrt.bench.runs import run_labels  # noqa: E402

from bench_records import (MV1, MV2, all_failed_record, orin_record, unreachable_record,  # noqa: E402
                           with_hostile_text, with_profiled_runs, with_random_weights)


def _csv_table(text: str) -> dict:
    rows = list(csv.reader(io.StringIO(text)))
    return {(r[0], r[1]): dict(zip(rows[0][2:], r[2:])) for r in rows[1:]}


def _ok_optimized(record):
    return [c for c in record["cells"] if c["status"] == "ok" and (c["backend"], c["precision"]) != ("tf", "fp32")]


def test_random_weights_agreement_is_na_in_markdown_and_csv_with_a_banner():
    record = with_random_weights(nano_record())
    text = markdown(record)
    banner = text.split("\n\n")[1]
    assert banner.startswith("> **Random weights") and "timings" in banner and "real" in banner
    assert "means nothing" in banner
    agreement = _md_table(text, "Agreement")
    for cell in _ok_optimized(record):
        assert agreement[cell["model"]][f"{cell['backend']} {cell['precision']}"] == "n/a (random weights)"
    assert "4/4" not in text  # the perfect-looking 1.00/1.00/0.000 is nowhere
    assert "untrained weights and mean nothing" in text.split("## Predictions", 1)[1]
    table = _csv_table(csv_text(record))
    for metric in ("top1_agreement", "top5_overlap", "max_abs_diff"):
        assert table[(MV1, metric)]["tensorrt fp16"] == "n/a (random weights)"
        assert table[(MV1, metric)]["tf fp32"] == ""  # the reference has no agreement at all
    assert table[(MV1, "latency_median_ms")]["tensorrt fp16"] != "n/a (random weights)"  # timings stay

    # A record from before agreement carried `meaningful`: its conversion's weights still say random.
    legacy = with_random_weights(nano_record())
    for cell in legacy["cells"]:
        if cell.get("agreement"):
            cell["agreement"].pop("meaningful")
            cell["agreement"].pop("why")
    assert _md_table(markdown(legacy), "Agreement")[MV1]["tensorrt int8"] == "n/a (random weights)"
    # And agreement marked meaningless is n/a even in a record that does not list its conversions.
    bare = with_random_weights(nano_record())
    bare.pop("conversions")
    assert _md_table(markdown(bare), "Agreement")[MV1]["tensorrt int8"] == "n/a (random weights)"
    assert markdown(bare).split("\n\n")[1].startswith("> **Random weights")

    real = markdown(nano_record())
    assert "Random weights" not in real and _md_table(real, "Agreement")[MV1]["tensorrt int8"] == "4/4 · 0.95 · 0.031"


def test_an_unprofiled_run_heads_its_cell_whatever_the_order_and_profiled_figures_are_marked():
    plain = nano_record()
    record = with_profiled_runs(plain)
    assert record["cells"][0]["profiled"] and record["cells"][0]["backend"] == "onnxruntime"  # first in the file
    text = markdown(record)
    latency = _md_table(text, "Steady-state latency")
    unprofiled = next(c for c in plain["cells"] if c["model"] == MV1 and c["backend"] == "onnxruntime")
    assert float(latency[MV1]["onnxruntime fp32"]) == pytest.approx(
        unprofiled["steady"]["latency_ms"]["median"], rel=0.01)
    assert "(profiled)" not in latency[MV1]["onnxruntime fp32"]
    assert latency[MV1]["tensorrt fp16"].endswith(" (profiled)")  # its only run was profiled
    assert latency[MV1]["tf fp32"] == _md_table(markdown(plain), "Steady-state latency")[MV1]["tf fp32"]
    assert "onnxruntime fp32 b1: figures from the unprofiled run; the profiled run (median" in text
    table = _csv_table(csv_text(record))
    assert table[(MV1, "profiled")] == {"tf fp32": "false", "onnxruntime fp32": "false", "tensorrt fp16": "true",
                                        "tensorrt int8": "false"}
    # compare() reads the same headline runs: the profiled run's 1.3× is no regression.
    rows = {(r["model"], r["backend"]): r for r in compare(plain, record)}
    assert rows[(MV1, "onnxruntime")]["verdict"] == "same"


def test_headline_rules():
    ok = {"model": "m", "backend": "onnxruntime", "precision": "fp32", "batch": 1, "status": "ok"}
    profiled = dict(ok, profile={"layers": [{"name": "a", "time_ms": 1.0}]})
    oom = dict(ok, status="oom")
    only_profiled = next(iter(headlines([profiled]).values()))
    assert only_profiled.cell is profiled and only_profiled.profiled
    # The unprofiled run heads even when it did not finish: its status is the honest headline.
    failed_plain = next(iter(headlines([profiled, oom]).values()))
    assert failed_plain.cell is oom and failed_plain.others == (profiled,)
    retried = next(iter(headlines([oom, ok]).values()))
    assert retried.cell is ok and not retried.unprofiled_heads_profiled


def test_profile_shows_the_ten_slowest_layers_with_their_share():
    record = with_profiled_runs(nano_record())
    text = markdown(record)
    section = text.split("## Slowest layers", 1)[1].split("\n## ", 1)[0]
    ort = section.split("### mobilenet_v1_1.0_224 onnxruntime fp32", 1)[1].split("###", 1)[0]
    rows = [line for line in ort.splitlines() if line.startswith("| ") and not line.startswith("| #")
            and not line.startswith("| ---")]
    profile = next(c for c in record["cells"] if c.get("profiled"))["profile"]
    slowest = sorted(profile["layers"], key=lambda l: -l["time_ms"])[:10]
    assert len(profile["layers"]) == 15 and len(rows) == 10
    names = [r.strip("|").split("|")[1].strip() for r in rows]
    assert names == [l["name"] for l in slowest]
    shares = [float(r.strip("|").split("|")[-1].strip().rstrip("%")) for r in rows]
    assert shares == [pytest.approx(l["percent"], abs=0.05) for l in slowest]
    assert f"these 10 layers take {sum(l['percent'] for l in slowest):.1f}% of the profiled time" in ort
    assert "31 layers in all" in ort
    assert "### mobilenet_v1_1.0_224 tensorrt fp16 — trtexec, 29 layers in all" in section
    assert "## Slowest layers" not in markdown(nano_record())  # no profile, no section


def test_device_facts_come_from_the_probe_else_the_profile_and_say_which():
    facts = _md_table(markdown(nano_record()).replace("| Device |", "## Device facts\n| Device |", 1), "Device facts")
    assert facts["TensorRT"]["nano-fixture"] == "8.2.1.9 (probe)"
    assert facts["JetPack"]["nano-fixture"] == "4.6.6 (probe)" and facts["L4T"]["nano-fixture"] == "32.7.6 (probe)"
    assert facts["Power mode"]["nano-fixture"] == "5W, nvpmodel mode 1 (probe)"
    assert facts["Board"]["nano-fixture"] == "Jetson Nano (probe)"
    orin = _md_table(markdown(orin_record()).replace("| Device |", "## Device facts\n| Device |", 1), "Device facts")
    assert orin["TensorRT"]["orin-fixture"] == "10.3.0.30 (profile orin-nano, not probed)"
    assert orin["Power mode"]["orin-fixture"] == "unknown"  # a profile does not know the power mode
    x86 = nano_record()
    x86["device"]["probe"]["facts"]["l4t"] = {"value": None, "source": None}  # an x86 box under profile nano
    text = markdown(x86).replace("| Device |", "## Device facts\n| Device |", 1)
    assert _md_table(text, "Device facts")["L4T"]["nano-fixture"] == "32.7 (profile nano, the probe found none)"


def test_fleet_summary_has_devices_as_columns_and_a_failed_device_shows_its_error():
    nano, orin, broken = nano_record(), orin_record(), unreachable_record()
    text = render_report([nano, orin, broken], "md")
    latency = text.split("## Steady-state latency", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in latency.splitlines() if line.startswith("|")]
    assert [h.strip() for h in lines[0].strip("|").split("|")] == ["Model", "Cell", "nano-fixture", "orin-fixture",
                                                                   "nano-broken"]
    device_row = [v.strip() for v in lines[2].strip("|").split("|")]
    assert device_row[:2] == ["(device)", "status"]
    assert device_row[4] == "error: ssh: connect to host 10.0.0.7 port 22: No route to host"
    body = {(v[0], v[1]): v[2:] for v in ([x.strip() for x in line.strip("|").split("|")] for line in lines[3:])}
    keys = {(c["model"], f"{c['backend']} {c['precision']}") for c in nano["cells"] + orin["cells"]}
    assert set(body) == keys  # every cell of every device is a row
    orin_mv2_int8 = next(c for c in orin["cells"] if c["model"] == MV2 and c["precision"] == "int8")
    assert body[(MV2, "tensorrt int8")][0] == "incompatible"
    assert float(body[(MV2, "tensorrt int8")][1]) == pytest.approx(orin_mv2_int8["steady"]["latency_ms"]["median"],
                                                                   rel=0.01)
    assert {v[2] for v in body.values()} == {"device error"}
    assert "## Each run on its own" in text and "### edgetrt bench" in text  # per device, below the summary

    rows = list(csv.reader(io.StringIO(render_report([nano, orin, broken], "csv"))))
    assert rows[0] == ["model", "backend", "precision", "batch", "metric", "nano-fixture", "orin-fixture", "nano-broken"]
    by_key = {tuple(r[:5]): r[5:] for r in rows[1:]}
    assert by_key[("", "", "", "", "device_error")] == ["", "", "ssh: connect to host 10.0.0.7 port 22: No route to host"]
    assert by_key[(MV2, "tensorrt", "int8", "1", "status")] == ["incompatible", "ok", "device error"]
    assert float(by_key[(MV2, "tensorrt", "int8", "1", "latency_median_ms")][1]) == pytest.approx(
        orin_mv2_int8["steady"]["latency_ms"]["median"], rel=1e-5)


def test_compare_across_devices_is_cell_by_cell_and_labelled_by_device():
    nano, orin = nano_record(), orin_record()
    rows = {(r["model"], r["backend"], r["precision"]): r for r in compare(nano, orin)}
    assert rows[(MV1, "tensorrt", "fp16")]["verdict"] == "improvement"
    assert rows[(MV2, "tensorrt", "int8")]["reason"] == "incompatible → ok"
    assert rows[("vgg_16", "tf", "fp32")]["reason"] == "still failing (killed → oom)"
    text = compare_markdown(nano, orin)
    header = next(line for line in text.splitlines() if line.startswith("| Model"))
    assert "nano-fixture ms" in header and "orin-fixture ms" in header
    assert "Changes: nano-fixture → orin-fixture" in text
    report = render_report([nano, orin], "md", comparison=compare(nano, orin))
    latency = report.split("## Steady-state latency", 1)[1].split("\n## ", 1)[0]
    header = next(line for line in latency.splitlines() if line.startswith("| Model"))
    assert header == "| Model | Cell | nano-fixture | orin-fixture | Change |"
    assert "0 regression(s), 14 improvement(s), 2 unchanged" in latency and "orin-fixture against nano-fixture" in latency
    assert "▼ incompatible → ok" in latency
    assert report.count("▼ incompatible → ok") == 1  # one comparison table, not two
    # One device over time: the columns are the runs (id and date), not two identical names.
    later = slowed(nano)
    assert run_labels([nano, later]) == [f"{nano['run_id'][:8]} 2019-09-08 16:24", f"{later['run_id'][:8]} 2019-09-09 10:00"]
    assert run_labels([nano, nano]) == [f"{nano['run_id'][:8]} 2019-09-08 16:24", f"{nano['run_id'][:8]} 2019-09-08 16:24 #2"]


CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def test_device_text_stays_on_one_printable_line_in_markdown_and_csv():
    record = with_hostile_text(nano_record())
    for text in (markdown(record), side_by_side.markdown([record, orin_record()])):
        columns = None
        for line in text.splitlines():
            assert not CONTROL.search(line), repr(line)
            if not line.startswith("|"):
                columns = None
                continue
            # Cell borders are the pipes not escaped (preceded by an even number of backslashes):
            # every row of a table has as many as its header, so no device text split a cell.
            borders = len(re.findall(r"(?<!\\)(?:\\\\)*\|", line))
            columns = columns or borders
            assert borders == columns, line
        assert "line one line two col \\| \\<b>bold\\</b> \\\\x1b[2J\\\\x07 end" in text
    for text in (csv_text(record), side_by_side.csv_text([record, orin_record()])):
        physical = text.splitlines()
        parsed = list(csv.reader(io.StringIO(text)))
        assert len(physical) == len(parsed)  # no field spans two lines
        assert not any(CONTROL.search(field) for row in parsed for field in row)
    assert "nano\\x1b[31m-lab |x|" in side_by_side.csv_text([record, orin_record()]).splitlines()[0]


def test_a_run_with_nothing_measured_says_so():
    text = markdown(all_failed_record())
    assert "> **Nothing was measured" in text.split("\n## ", 1)[0]
    assert "Nothing was measured" not in markdown(nano_record())
    unreachable = markdown(unreachable_record())
    assert "> **Nothing was measured: no cell ran" in unreachable
    assert "**Device error: ssh: connect to host 10.0.0.7 port 22: No route to host**" in unreachable
    assert "\n## " not in unreachable  # no empty tables, no sections: the device never measured


def test_api_report_puts_several_runs_and_compare_side_by_side(tmp_path, monkeypatch):
    from edgetrt import api

    monkeypatch.setenv("EDGETRT_RESULTS", str(tmp_path))
    nano, orin = nano_record(), orin_record()
    history.save_run(nano, tmp_path)
    history.save_run(orin, tmp_path)
    fleet = api.report([nano["run_id"], orin["run_id"]], fmt="md")
    assert fleet["json"]["runs"] == [nano["run_id"], orin["run_id"]]
    assert "| Model | Cell | nano-fixture | orin-fixture |" in fleet["text"]
    compared = api.report(["latest"], fmt="csv", compare=[nano["run_id"][:6], orin["run_id"][:6]])
    rows = list(csv.reader(io.StringIO(compared["text"])))
    assert rows[0][5:] == ["nano-fixture", "orin-fixture"]
    change = next(r for r in rows if r[:5] == [MV2, "tensorrt", "int8", "1", "change"])
    assert change[5:] == ["", "▼ incompatible → ok"]
    assert compared["json"]["comparison"] and compared["json"]["runs"] == [nano["run_id"], orin["run_id"]]
    single = api.report([nano["run_id"]], fmt="md")
    assert single["text"] == markdown(nano)
    with pytest.raises(UsageError):
        api.report(["latest"], fmt="pdf")
