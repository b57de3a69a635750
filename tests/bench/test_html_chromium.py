"""The HTML report: self-contained, charts that can be read, and a real headless Chromium that
renders a two-device comparison into a page that fits 1280 px.

CI installs chromium (Debian package); without it the rendering tests are skipped, saying so.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest

from bench_records import (all_failed_record, fleet_records, nano_record, orin_record, slowed,  # noqa: E402
                           unreachable_record, with_hostile_text, with_noisy_cell, with_profiled_runs,
                           with_random_weights)

pytest.importorskip("matplotlib", reason="the HTML report needs the report extra: pip install -e '.[report]'")

CHROMIUM = shutil.which("chromium") or shutil.which("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install "
                                    "chromium); CI installs it")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "report-two-devices.png"
WIDTH = 1280


def _report(records, comparison=None) -> str:
    from edgetrt.bench.report_html import html_report

    return html_report(records, comparison=comparison)


def _images(text: str) -> list[bytes]:
    return [base64.b64decode(d) for d in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


def with_batch8(record):
    record["cells"].append(dict(record["cells"][0], batch=8))
    return record


def test_html_is_self_contained_with_inline_charts():
    from PIL import Image

    from edgetrt.bench.compare import compare

    old = nano_record()
    single = _report([old])
    both = _report([old, slowed(old, 2.0)], comparison=compare(old, slowed(old, 2.0)))
    for text in (single, both):
        assert not re.search(r"(https?:|ftp:|//[a-z0-9.-]+\.[a-z]{2,})", text, re.I), "external reference"
        assert "<script" not in text and "<link" not in text
    assert len(_images(single)) == 3  # first vs steady, fps by backend, latency distribution
    assert len(_images(both)) == 1    # one chart for the runs side by side
    for data in _images(single) + _images(both):
        with Image.open(io.BytesIO(data)) as img:
            assert 300 < img.size[0] <= 1232 and img.size[1] > 200  # fits the page at 1280 px
    for word in ("oom", "killed", "timeout", "crashed", "incompatible", "error"):
        assert f'<td class="failed">{word}' in single
    assert '<td class="regression">▲ 2.00× slower</td>' in both


def test_random_weights_banner_and_na_agreement_in_html():
    text = _report([with_random_weights(nano_record())])
    body = text.split("<body>", 1)[1]
    assert body.index('<div class="banner">Random weights') < body.index("<h2>")  # at the top
    assert "timings, memory and sizes are real measurements" in body
    agreement = body.split('id="table-agreement"', 1)[1].split("</table>", 1)[0]
    assert "n/a (random weights)" in agreement and "4/4" not in agreement
    assert "Random weights" not in _report([nano_record()])


def test_profiled_cells_are_marked_and_their_slowest_layers_listed():
    text = _report([with_profiled_runs(nano_record())])
    latency = text.split('id="table-latency"', 1)[1].split("</table>", 1)[0]
    assert "(profiled)" in latency
    assert text.count('<table class="layers">') == 2
    layers = text.split('<table class="layers">', 1)[1].split("</table>", 1)[0]
    assert layers.count("<tr>") == 11  # header + the 10 slowest
    assert '<td class="name">MobilenetV1/Conv2d_1_pointwise/Conv2D</td>' in layers


def test_device_facts_head_the_page_and_say_where_they_come_from():
    text = _report([nano_record(), orin_record()])
    facts = text.split('id="device-facts"', 1)[1].split("</table>", 1)[0]
    assert text.index('id="device-facts"') < text.index('id="comparison"')
    assert 'TensorRT</td><td class="label">8.2.1.9<span class="from" title="/var/lib/dpkg/status (tensorrt)">probe' in facts
    assert '10.3.0.30<span class="from" title="profile orin-nano, not probed">profile' in facts
    assert "5W, nvpmodel mode 1" in facts and "JetPack" in facts and "CUDA" in facts
    ids = re.findall(r'id="([^"]+)"', text)
    assert len(ids) == len(set(ids)), "two elements share an id"


def test_device_text_is_escaped_in_html():
    text = _report([with_hostile_text(nano_record())])
    assert "\x1b" not in text and "\r" not in text and "<b>bold" not in text
    assert "&lt;b&gt;bold&lt;/b&gt;" in text and "\\x1b[2J" in text


# ---- the charts as figures --------------------------------------------------------------------

def _figures(record_sets):
    from edgetrt.bench.chart_style import SeriesStyles
    from edgetrt.bench.charts import (chart_first_vs_steady, chart_fps, chart_latency_distribution,
                                      chart_side_by_side)

    out = []
    for records in record_sets:
        styles = SeriesStyles()
        if len(records) == 1:
            charts = [f(records[0], styles) for f in (chart_first_vs_steady, chart_fps, chart_latency_distribution)]
        else:
            charts = [chart_side_by_side(records, styles)]
        out += [(c.name, c.figure) for c in charts if c.figure is not None]
    return out


def _legend_colours(figure) -> dict:
    from matplotlib.colors import to_hex

    colours = {}
    for ax in figure.axes:
        for container in ax.containers:
            label = container.get_label()
            patches = getattr(container, "patches", None)
            if patches and label and not label.startswith("_"):
                colours.setdefault(label, set()).add((to_hex(patches[0].get_facecolor(), keep_alpha=False),
                                                      patches[0].get_hatch() or ""))
    return colours


def test_one_colour_per_series_in_every_chart_and_b1_b8_apart():
    from edgetrt.bench.chart_style import SeriesStyles
    from edgetrt.bench.charts import chart_first_vs_steady, chart_fps

    record = with_batch8(nano_record())
    styles = SeriesStyles()
    first, fps = chart_first_vs_steady(record, styles), chart_fps(record, styles)
    a, b = _legend_colours(first.figure), _legend_colours(fps.figure)
    assert {"tf fp32 b1", "tf fp32 b8"} <= set(a) and {"tf fp32 b1", "tf fp32 b8"} <= set(b)
    for label in set(a) & set(b):
        assert a[label] == b[label], f"{label} changes colour between charts"
    styles_used = [next(iter(s)) for s in a.values()]
    assert len(set(styles_used)) == len(styles_used), "two series share a colour"
    assert a["tf fp32 b1"] != a["tf fp32 b8"]
    # Past the palette, the hatch tells series apart: 40 keys, 40 different looks.
    many = SeriesStyles(f"device-{i}" for i in range(40))
    assert len({(s.colour, s.hatch) for _, s in many.items()}) == 40
    # Runs side by side: one colour per run, the same in both panels.
    side = _figures([[nano_record(), orin_record()]])[0][1]
    runs = _legend_colours(side)
    assert set(runs) == {"nano-fixture", "orin-fixture"} and len({next(iter(v)) for v in runs.values()}) == 2


def _bbox_overlap(a, b) -> bool:
    return a.x0 < b.x1 - 1 and b.x0 < a.x1 - 1 and a.y0 < b.y1 - 1 and b.y0 < a.y1 - 1


def _labels_collide(s, t, renderer, dpi) -> bool:
    """Two tick labels overlap. Level labels: their boxes intersect. Labels slanted by the same
    angle are parallel strips (their boxes overlap without the glyphs touching): they collide
    when the strips are closer than a line of text, measured across the slant."""
    import math

    if s.get_rotation() % 180 == 0 or s.get_rotation() != t.get_rotation():
        return _bbox_overlap(s.get_window_extent(renderer), t.get_window_extent(renderer))
    angle = math.radians(s.get_rotation())
    (x1, y1), (x2, y2) = (label.get_transform().transform(label.get_position()) for label in (s, t))
    across = abs((x2 - x1) * math.sin(angle) - (y2 - y1) * math.cos(angle))
    return across < s.get_fontsize() * dpi / 72.0


def _check_geometry(name, figure):
    """Panels (with their tick and axis labels) apart, tick labels apart, every drawn line and
    whisker inside its axes' limits, and the figure within the page's width."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection

    canvas = FigureCanvasAgg(figure)  # the renderer savefig uses for the PNG
    canvas.draw()
    renderer = canvas.get_renderer()
    width_px = figure.get_size_inches()[0] * figure.dpi
    assert width_px <= 1232, f"{name}: {width_px} px wide"
    axes = [ax for ax in figure.axes if ax.get_visible()]
    for a, b in combinations(axes, 2):
        boxes = (a.get_tightbbox(renderer), b.get_tightbbox(renderer))
        if a.get_shared_y_axes().joined(a, b):
            boxes = (a.get_window_extent(renderer), b.get_window_extent(renderer))
        assert not _bbox_overlap(*boxes), f"{name}: two panels overlap ({a.get_title()!r}, {b.get_title()!r})"
    page = figure.bbox
    legends = list(figure.legends) + [ax.get_legend() for ax in axes if ax.get_legend()]
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1 and box.y0 >= page.y0 - 1 and box.y1 <= page.y1 + 1, \
            f"{name}: a legend runs off the figure"
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            for s, t in combinations(labels, 2):
                assert not _labels_collide(s, t, renderer, figure.dpi), \
                    f"{name}: tick labels {s.get_text()!r} and {t.get_text()!r} overlap"
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        points = [line.get_xydata() for line in ax.lines]
        points += [np.concatenate(c.get_segments()) for c in ax.collections
                   if isinstance(c, LineCollection) and len(c.get_segments())]
        for xy in points:
            xy = xy[np.isfinite(xy).all(axis=1)]
            assert ((xy[:, 0] >= x0 * 0.999) & (xy[:, 0] <= x1 * 1.001)).all(), f"{name}: a line or whisker leaves the x range"
            assert ((xy[:, 1] >= y0 - 1e-9) & (xy[:, 1] <= y1 * 1.001 + 1e-9)).all(), f"{name}: a line or whisker leaves the y range"
        for note in ax.texts:  # status words of cells that did not finish, where their bar would stand
            x, y = note.xy
            margin = 0.02 * (x1 - x0) if ax.get_xscale() == "linear" else 0.0
            assert x0 + margin <= x <= x1 - margin and y0 <= y * 1.0001 and y <= y1, \
                f"{name}: {note.get_text()!r} sits on the axes' edge or outside them"
        for patch in ax.patches:
            if patch.get_height() > 0 and not ax.get_yscale() == "log":
                assert patch.get_y() + patch.get_height() <= y1 * 1.001, f"{name}: a bar runs off the top"


def test_charts_keep_labels_apart_and_whiskers_inside():
    record_sets = [[with_batch8(nano_record())], [with_noisy_cell(orin_record())], [with_profiled_runs(nano_record())],
                   [nano_record(), orin_record()], [nano_record(), orin_record(), unreachable_record()],
                   fleet_records(10), [slowed(nano_record(), 1 + n / 10, f"2019-09-{n + 10}T10:00:00Z")
                                       for n in range(7)]]
    figures = _figures(record_sets)
    assert len(figures) == 3 + 3 + 3 + 1 + 1 + 1 + 1
    for name, figure in figures:
        _check_geometry(name, figure)


def test_the_geometry_check_catches_overlap_and_a_whisker_off_the_chart():
    from matplotlib.figure import Figure

    crowded = Figure(figsize=(4, 3), dpi=100)  # no constrained layout: long labels run into the next panel
    left, right = crowded.subplots(1, 2)
    left.set_xticks(range(3), ["a_rather_long_model_name"] * 3)
    right.set_ylabel("a y label that runs into the left panel")
    with pytest.raises(AssertionError, match="overlap"):
        _check_geometry("crowded", crowded)
    whisker = Figure(figsize=(6, 3), dpi=100, layout="constrained")
    ax = whisker.add_subplot()
    ax.bar([0], [10], yerr=[[1], [8]])
    ax.set_ylim(0, 12)
    with pytest.raises(AssertionError, match="leaves the y range"):
        _check_geometry("whisker", whisker)


def test_a_run_where_nothing_finished_draws_no_chart_and_says_so():
    text = _report([all_failed_record()])
    assert "<img" not in text
    assert "Nothing was measured" in text
    assert text.count("nothing finished, so there is nothing to draw") == 3
    assert "Chart notes" not in text  # matplotlib had nothing to complain about
    fleet = _report([all_failed_record(), unreachable_record()])
    assert "<img" not in fleet and "Runs side by side: nothing finished" in fleet
    alone = _report([unreachable_record()])
    assert '<div class="error">error: ssh: connect to host 10.0.0.7' in alone and "<table" in alone  # the facts
    assert "<img" not in alone and "<h3>" not in alone and "no cell ran" in alone


@pytest.mark.parametrize("make_record", [all_failed_record, nano_record], ids=["all-failed", "mixed"])
def test_report_html_prints_nothing_but_where_it_wrote(tmp_path, make_record):
    """Through the real CLI, with a fresh matplotlib config (its font cache built on the way)."""
    from edgetrt.bench import history

    results = tmp_path / "results"
    history.save_run(make_record(), results)
    out = tmp_path / "report.html"
    env = dict(os.environ, EDGETRT_RESULTS=str(results), MPLCONFIGDIR=str(tmp_path / "mpl"),
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""), PYTHONWARNINGS="default")
    done = subprocess.run([sys.executable, "-m", "edgetrt", "report", "latest", "--format", "html", "-o", str(out)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr.strip() == f"wrote {out}", done.stderr
    page = out.read_text(encoding="utf-8")
    assert "Chart notes" not in page  # nothing was caught either: the charts gave matplotlib no cause
    if make_record is all_failed_record:
        assert "Nothing was measured" in page and "<img" not in page
    else:
        assert page.count("<img") == 3


def test_fleet_page_keeps_a_failed_device_as_a_column_without_an_empty_lane():
    text = _report([nano_record(), orin_record(), unreachable_record()])
    table = text.split('id="comparison"', 1)[1].split("</table>", 1)[0]
    header = re.findall(r"<th>(.*?)</th>", table.split("</thead>", 1)[0])
    assert header == ["Model", "Cell", "nano-fixture", "orin-fixture", "nano-broken"]
    assert ('<td class="failed">error: ssh: connect to host 10.0.0.7 port 22: No route to host</td>'
            in table.split("</tr>", 2)[1])
    assert "Not drawn, no cell: nano-broken (error: ssh: connect" in text
    side = _figures([[nano_record(), orin_record(), unreachable_record()]])[0][1]
    assert set(_legend_colours(side)) == {"nano-fixture", "orin-fixture"}


def test_matplotlib_warnings_and_log_records_are_caught_not_printed(capfd):
    import logging

    from matplotlib.figure import Figure

    from edgetrt.bench.chart_style import CapturedWarnings

    with CapturedWarnings() as caught:
        ax = Figure().add_subplot()
        ax.set_xlim(1, 1)  # a UserWarning: identical low and high limits
        logging.getLogger("matplotlib.legend").warning("No artists with labels found to put in legend.")
        logging.getLogger("matplotlib.font_manager").warning("Matplotlib is building the font cache; this may take a moment.")
    assert any("identical low and high xlims" in m for m in caught.messages)
    assert "No artists with labels found to put in legend." in caught.messages
    assert not any("font cache" in m for m in caught.messages)  # a progress notice, dropped
    assert capfd.readouterr().err == ""
    assert logging.getLogger("matplotlib").propagate  # the logger is given back as it was


def test_missing_matplotlib_names_the_clone_extra(monkeypatch):
    import builtins

    from edgetrt.bench import report_html
    from edgetrt.errors import MissingDependencyError

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(MissingDependencyError) as info:
        report_html.html_report([nano_record()])
    assert "pip install -e '.[report]'" in info.value.hint and str(REPO) in info.value.hint


# ---- a real browser ----------------------------------------------------------------------------

# Injected by the test only (the report itself has no script): what the page looks like once
# Chromium has laid it out, written into the DOM that --dump-dom prints.
PROBE_SCRIPT = """<script>
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const table = document.getElementById('comparison');
  const out = {
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    images: images.length,
    decoded: images.filter(i => i.complete && i.naturalWidth > 0).length,
    imageRights: images.map(i => i.getBoundingClientRect().right),
    header: table ? Array.from(table.querySelectorAll('thead th')).map(th => th.textContent) : null,
    rows: table ? table.querySelectorAll('tbody tr').length : 0,
    tableRight: table ? table.getBoundingClientRect().right : null,
  };
  const pre = document.createElement('pre');
  pre.id = 'layout-probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def _chromium(tmp_path, page: Path, *args) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", *args, page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def two_device_page() -> str:
    from edgetrt.bench.compare import compare

    nano, orin = nano_record(), orin_record()
    return _report([nano, orin], comparison=compare(nano, orin))


def screenshot(tmp_path, html_text: str, shot: Path, height: int) -> None:
    page = tmp_path / "report.html"
    page.write_text(html_text, encoding="utf-8")
    done = _chromium(tmp_path, page, f"--screenshot={shot}", f"--window-size={WIDTH},{height}")
    assert shot.is_file(), done.stderr[-2000:]


def _layout(tmp_path, html_text: str) -> dict:
    """The page as Chromium lays it out at 1280 px (PROBE_SCRIPT's findings)."""
    page = tmp_path / "probe.html"
    page.write_text(html_text.replace("</body>", PROBE_SCRIPT + "</body>"), encoding="utf-8")
    done = _chromium(tmp_path, page, "--dump-dom", "--virtual-time-budget=10000", f"--window-size={WIDTH},1000")
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@needs_chromium
def test_chromium_lays_out_the_two_device_comparison_within_1280_px(tmp_path):
    from PIL import Image

    html_text = two_device_page()
    layout = _layout(tmp_path, html_text)
    assert layout["innerWidth"] == WIDTH
    assert layout["scrollWidth"] <= WIDTH, "the page scrolls sideways"
    assert layout["header"][:4] == ["Model", "Cell", "nano-fixture", "orin-fixture"]
    assert layout["header"][-1] == "Change"
    assert layout["rows"] == 1 + len({(c["model"], c["backend"], c["precision"])
                                      for c in nano_record()["cells"] + orin_record()["cells"]})
    assert layout["tableRight"] <= WIDTH
    assert layout["images"] == 1 and layout["decoded"] == 1, "the comparison chart did not decode"
    assert max(layout["imageRights"]) <= WIDTH

    shot = tmp_path / "shot.png"
    screenshot(tmp_path, html_text, shot, 1400)
    with Image.open(shot) as img:
        rgb = img.convert("RGB")
        assert rgb.size == (WIDTH, 1400)
        colours = rgb.getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 200, "the page looks blank"
        # The two devices' colours (the first two of the palette) both reach the screen.
        from edgetrt.bench.chart_style import PALETTE

        def near(target):
            r0, g0, b0 = (int(target[i:i + 2], 16) for i in (1, 3, 5))
            return sum(n for n, (r, g, b) in colours if abs(r - r0) + abs(g - g0) + abs(b - b0) < 30)

        assert near(PALETTE[0]) > 2000 and near(PALETTE[1]) > 2000, "one device's bars are missing"


@needs_chromium
def test_chromium_keeps_a_ten_device_fleet_inside_the_window(tmp_path):
    layout = _layout(tmp_path, _report(fleet_records(10)))
    assert len(layout["header"]) == 2 + 10
    assert layout["scrollWidth"] <= WIDTH, "a wide fleet table makes the whole page scroll sideways"
    assert layout["images"] == 1 and layout["decoded"] == 1


@needs_chromium
def test_chromium_renders_a_single_run_with_its_charts(tmp_path):
    from PIL import Image

    shot = tmp_path / "shot.png"
    screenshot(tmp_path, _report([nano_record()]), shot, 2000)
    with Image.open(shot) as img:
        rgb = img.convert("RGB")
        chart_band = rgb.crop((0, 450, WIDTH, 1900))
        counts = chart_band.getcolors(maxcolors=1 << 20)
        white = sum(n for n, c in counts if min(c) > 245)
        assert white < 0.9 * chart_band.size[0] * chart_band.size[1], "chart region is (almost) all white"
        saturated = sum(n for n, (r, g, b) in counts if max(r, g, b) - min(r, g, b) > 80)
        assert saturated > 5000, "no coloured bars or markers in the chart region"


def test_the_screenshot_in_the_repository_is_the_two_device_comparison_and_small():
    from PIL import Image

    assert SCREENSHOT.is_file(), f"{SCREENSHOT} is missing: python {Path(__file__).name} writes it"
    assert SCREENSHOT.stat().st_size < 300 * 1024
    with Image.open(SCREENSHOT) as img:
        assert img.size[0] == WIDTH


if __name__ == "__main__":
    # Writes docs/report-two-devices.png: the two-device comparison as Chromium draws it at
    # 1280 px, quantised to a palette so it stays small.
    import tempfile

    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        shot = Path(tmp) / "shot.png"
        screenshot(Path(tmp), two_device_page(), shot, 1900)
        with Image.open(shot) as img:
            img.convert("RGB").quantize(colors=128).save(SCREENSHOT, optimize=True)
    print(f"wrote {SCREENSHOT} ({SCREENSHOT.stat().st_size} bytes)")
