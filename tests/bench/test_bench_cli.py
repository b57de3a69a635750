"""`edgetrt bench` and `edgetrt report` for real on this host: real conversions, real runs."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "tests" / "data" / "mobilenet_2_5_128_tf.h5"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("bench")
    return dict(os.environ, PYTHONPATH=str(REPO), EDGETRT_CACHE=str(base / "cache"),
                EDGETRT_RESULTS=str(base / "results"), HOME=str(base), COLUMNS="200")


def edgetrt(env, *args, timeout=1200):
    return subprocess.run([sys.executable, "-m", "edgetrt", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=timeout)


def test_the_issue_matrix_completes_with_figures_and_agreement(env):
    proc = edgetrt(env, "bench", "mobilenet_v1", "mobilenet_v2", "--backend", "tf,onnxruntime",
                   "--precision", "fp32,int8", "--json", "--duration", "0.3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(proc.stdout)
    cells = {(c["model"], c["backend"], c["precision"]): c for c in record["cells"]}
    assert set(cells) == {(m, b, p) for m in ("mobilenet_v1", "mobilenet_v2")
                          for b, p in (("tf", "fp32"), ("onnxruntime", "fp32"), ("onnxruntime", "int8"))}
    for key, cell in cells.items():
        assert cell["status"] == "ok", (key, cell["message"])
        assert cell["steady"]["latency_ms"]["median"] > 0 and cell["first_run_ms"] > 0
        assert cell["peak_memory_mb"] > 0 and cell["artifact_bytes"] > 0 and cell["original_bytes"] > 0
        if key[1] != "tf":
            agree = cell["agreement"]
            assert agree["images"] == 4 and 0 <= agree["top1"] <= 1 and 0 <= agree["top5_overlap"] <= 1
            assert agree["max_abs_diff"] >= 0
    assert Path(record["saved_to"]).is_file()
    assert len(record["run_id"]) == 12


def test_int8_with_real_weights_agrees_with_native_on_the_photos(env):
    proc = edgetrt(env, "bench", "mobilenet_v1_0.25_128", "--weights", str(WEIGHTS), "--backend",
                   "tf,onnxruntime", "--precision", "fp32,int8", "--json", "--duration", "0.3", "--profile")
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(proc.stdout)
    int8 = next(c for c in record["cells"] if c["precision"] == "int8")
    assert int8["status"] == "ok"
    assert int8["agreement"]["top1"] * 4 >= 3
    assert 0 < int8["agreement"]["top5_overlap"] <= 1
    fp32 = next(c for c in record["cells"] if c["backend"] == "onnxruntime" and c["precision"] == "fp32")
    assert fp32["agreement"]["top1"] == 1.0 and fp32["agreement"]["max_abs_diff"] < 1e-4
    layers = fp32["profile"]["layers"]
    assert layers and layers[0]["percent"] >= layers[-1]["percent"] > 0
    assert record["conversions"]["mobilenet_v1_0.25_128"]["weights"]["kind"] == "file"


def test_a_failing_cell_does_not_stop_the_matrix_and_shows_in_markdown(env):
    # TensorFlow cannot load inside a 600 MB address space; ONNX Runtime can (it needs < 400 MB).
    proc = edgetrt(env, "bench", "mobilenet_v1_0.25_128", "--weights", str(WEIGHTS), "--backend",
                   "tf,onnxruntime", "--json", "--duration", "0.3", "--memory-limit-mb", "600")
    assert proc.returncode == 1, proc.stderr[-3000:]  # the matrix is complete; one cell failed
    record = json.loads(proc.stdout)
    status = {c["backend"]: c["status"] for c in record["cells"]}
    assert status["onnxruntime"] == "ok"
    assert status["tf"] in ("oom", "crashed", "killed"), record["cells"]
    md = edgetrt(env, "report", record["run_id"], "--format", "md")
    assert md.returncode == 0, md.stderr
    row = next(line for line in md.stdout.splitlines() if line.startswith("| mobilenet_v1_0.25_128"))
    assert status["tf"] in row
    csv = edgetrt(env, "report", record["run_id"], "--format", "csv")
    assert status["tf"] in csv.stdout


@contextlib.contextmanager
def cpu_quota(fraction):
    """A CPU cgroup (v1 or v2) limited to ``fraction`` of one CPU; yields the shell prefix that puts a
    command in it. The scheduler then throttles the run for real, whatever else the machine does."""
    import uuid

    name = f"edgetrt-cpu-{uuid.uuid4().hex[:8]}"
    # A short period (4 ms for a quarter; the quota's floor is 1 ms) throttles every inference that needs more
    # CPU than one quota, not only the few that straddle a long period's boundary.
    period = int(1000 / fraction)
    v1 = Path("/sys/fs/cgroup/cpu")
    v2 = Path("/sys/fs/cgroup/unified") if Path("/sys/fs/cgroup/unified/cgroup.controllers").exists() \
        else Path("/sys/fs/cgroup")
    try:
        if (v1 / "cpu.cfs_quota_us").exists():
            group = v1 / name
            group.mkdir()
            (group / "cpu.cfs_period_us").write_text(str(period))
            (group / "cpu.cfs_quota_us").write_text(str(int(period * fraction)))
        elif "cpu" in (v2 / "cgroup.controllers").read_text().split():
            group = v2 / name
            group.mkdir()
            (group / "cpu.max").write_text(f"{int(period * fraction)} {period}")
        else:
            pytest.skip("no CPU cgroup controller on this machine")
    except OSError as exc:
        pytest.skip(f"cannot make a CPU cgroup here: {exc}")
    try:
        yield ["sh", "-c", f'echo $$ > "{group}/cgroup.procs" && exec "$0" "$@"']
    finally:
        try:
            group.rmdir()
        except OSError:
            pass


def test_compare_flags_a_deliberately_slowed_run(env):
    # MobileNet v2 needs several ms of CPU an inference, several times the 1 ms quota below.
    args = ("bench", "mobilenet_v2", "--weights", "random", "--backend", "onnxruntime", "--json",
            "--duration", "1")
    first = json.loads(edgetrt(env, *args).stdout)
    # The same bench again with a quarter of one CPU: every inference waits for the scheduler's quota.
    with cpu_quota(0.25) as inside:
        proc = subprocess.run([*inside, sys.executable, "-m", "edgetrt", *args], capture_output=True, text=True,
                              env=env, cwd=REPO, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-2000:]
    second = json.loads(proc.stdout)
    proc = edgetrt(env, "report", "--compare", first["run_id"], "--compare", second["run_id"], "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["comparison"]
    assert rows and rows[0]["verdict"] == "regression", rows
    print("throttled / unthrottled median latency:", rows[0].get("latency_ratio") or rows[0])
    text = edgetrt(env, "report", "--compare", first["run_id"], "--compare", second["run_id"]).stdout
    assert "slower" in text


@pytest.mark.skipif(not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")),
                    reason="Debian chromium not installed (CI installs it)")
def test_html_report_of_a_real_run_renders_in_chromium(env, tmp_path):
    from PIL import Image

    html = tmp_path / "report.html"
    proc = edgetrt(env, "report", "latest", "--format", "html", "--out", str(html))
    assert proc.returncode == 0, proc.stderr
    shot = tmp_path / "shot.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2400",
                    html.as_uri()], capture_output=True, timeout=120, check=False)
    assert shot.is_file()
    with Image.open(shot) as img:
        colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # text, tables and charts, not a blank page


def test_without_a_tf_cell_agreement_is_against_native_tf_on_the_host(env):
    proc = edgetrt(env, "bench", "mobilenet_v1_0.25_128", "--weights", str(WEIGHTS), "--backend", "onnxruntime",
                   "--precision", "fp32,int8", "--json", "--duration", "0.2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    cells = {c["precision"]: c for c in json.loads(proc.stdout)["cells"]}
    assert cells["fp32"]["agreement"]["reference"] == "tf fp32 on the host"
    assert cells["fp32"]["agreement"]["top1"] == 1.0 and cells["fp32"]["agreement"]["max_abs_diff"] < 1e-4
    assert cells["int8"]["agreement"]["top1"] * 4 >= 3
