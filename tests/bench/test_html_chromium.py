"""The HTML report: self-contained, and rendered by a real headless Chromium into a readable page.

CI installs chromium (Debian package); without it the rendering test is skipped, saying so.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess

import pytest

from bench_records import nano_record, slowed  # noqa: E402  (tests/bench/, on sys.path via conftest)

pytest.importorskip("matplotlib", reason="the HTML report needs the report extra: pip install 'edgetrt[report]'")

CHROMIUM = shutil.which("chromium") or shutil.which("/usr/bin/chromium")


def _report(records, comparison=None) -> str:
    from edgetrt.bench.report_html import html_report

    return html_report(records, comparison=comparison)


def test_html_is_self_contained_with_inline_charts():
    from edgetrt.bench.compare import compare

    old = nano_record()
    text = _report([old], comparison=compare(old, slowed(old, 2.0)))
    assert not re.search(r"(https?:|ftp:|//[a-z0-9.-]+\.[a-z]{2,})", text, re.I), "external reference in the HTML"
    assert "<script" not in text and "<link" not in text
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(images) == 3  # first vs steady, fps by precision, latency distribution
    from PIL import Image

    for data in images:
        with Image.open(io.BytesIO(base64.b64decode(data))) as img:
            assert img.size[0] > 300 and img.size[1] > 200
    for word in ("oom", "killed", "timeout", "crashed", "incompatible", "error"):
        assert f'<td class="failed">{word}' in text
    assert "▲ 2.00× slower" in text


def test_missing_matplotlib_names_the_extra(monkeypatch):
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
    assert "edgetrt[report]" in info.value.hint


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium); CI installs it")
def test_chromium_renders_tables_and_charts(tmp_path):
    from PIL import Image

    page = tmp_path / "report.html"
    page.write_text(_report([nano_record()]), encoding="utf-8")
    shot = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
           page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as img:
        rgb = img.convert("RGB")
        assert rgb.size == (1280, 2000)
        colours = rgb.getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 200, "the page looks blank"
        # The charts come first under the title: the band below the heading must hold ink and colour.
        chart_band = rgb.crop((0, 150, 1280, 1600))
        white = sum(n for n, c in chart_band.getcolors(maxcolors=1 << 20) if min(c) > 245)
        assert white < 0.9 * chart_band.size[0] * chart_band.size[1], "chart region is (almost) all white"
        saturated = sum(n for n, (r, g, b) in chart_band.getcolors(maxcolors=1 << 20) if max(r, g, b) - min(r, g, b) > 80)
        assert saturated > 5000, "no coloured bars or markers in the chart region"
