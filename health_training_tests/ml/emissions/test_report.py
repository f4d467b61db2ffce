"""The carbon report: JSON-ready dict, markdown, and the self-contained HTML page with charts."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest

from health_training.ml.emissions import (
    EmissionsResult,
    emissions_report,
    to_html,
    to_markdown,
)
from health_training_tests.ml.emissions.samples import result

PNG = re.compile(r'<img alt="(\w+) chart" src="data:image/png;base64,([A-Za-z0-9+/=]+)">')


def test_report_is_json_and_markdown(usa: EmissionsResult) -> None:
    history = [usa.to_dict(), result().to_dict()]
    report = emissions_report(usa, eval_loss=2.4, history=history)
    assert json.loads(json.dumps(report)) == report
    assert report["within_budget"] and report["history"]["runs"] == 2
    assert [a["code"] for a in report["alerts"]] == ["poor_convergence"]
    md = to_markdown(report)
    assert "## Carbon footprint" in md and "| training |" in md and "USA, 369 g/kWh" in md
    assert usa.power_measurement in md and "`poor_convergence`" in md


def test_html_is_self_contained_with_decodable_png_charts(
    usa: EmissionsResult, tmp_path: Path
) -> None:
    from matplotlib.image import imread

    history = [result(kg_co2eq=4.0).to_dict(), usa.to_dict()]
    report = emissions_report(usa, eval_loss=2.4, history=history)
    page = to_html(json.loads(json.dumps(report)), history=history, charts_dir=tmp_path / "c")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    # Nothing is fetched when the page opens: no scripts, stylesheets or remote images.
    assert not re.search(r"<script|<link|<iframe|@import|url\(", page, re.I)
    assert re.findall(r'\b(?:src|href)="([^",]*)', page) == ["data:image/png;base64"] * 2
    charts = {name: base64.b64decode(data) for name, data in PNG.findall(page)}
    assert list(charts) == ["energy", "history"]
    for name, png in charts.items():
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        height, width, _ = imread(io.BytesIO(png), format="png").shape
        assert width > 300 and height > 100
        assert (tmp_path / "c" / f"{name}.png").read_bytes() == png
    # Every table scrolls sideways inside its own box instead of widening the page.
    assert page.count("<table>") == page.count('<div class="scroll"><table>') >= 5
    assert "<td>training</td>" in page and "<td>evaluation</td>" in page
    assert "poor_convergence" in page and "USA, 369 g/kWh" in page
    assert "<td>runs</td><td>2</td>" in page


def test_html_escapes_text_and_shows_an_overrun() -> None:
    hostile = '<script>alert("x")</script> & Co'
    run = result(kg_co2eq=12.0, cpu_model=hostile, power_measurement="<b>RAPL</b>")
    report = emissions_report(run, eval_loss=None, history=[])
    page = to_html(report, title="Carbon <footprint>")
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page
    assert "&lt;b&gt;RAPL&lt;/b&gt;" in page and "<title>Carbon &lt;footprint&gt;</title>" in page
    assert '<span class="over">OVER</span>' in page and "high_emissions" in page
    # Without the history's records there is no history chart, only the totals.
    assert [name for name, _ in PNG.findall(page)] == ["energy"]
    assert "No alerts." not in page


@pytest.mark.parametrize("kg", [0.0, 5e-6])
def test_html_renders_runs_too_small_to_chart(kg: float) -> None:
    tiny = result(kg_co2eq=kg, energy_kwh=0.0, cpu_kwh=0.0, gpu_kwh=0.0, ram_kwh=0.0)
    tiny = EmissionsResult.from_dict(tiny.to_dict() | {"carbon_intensity_g_per_kwh": None})
    history = [tiny.to_dict()] * 3
    page = to_html(emissions_report(tiny, eval_loss=None, history=history), history=history)
    assert len(PNG.findall(page)) == 2 and "No alerts." in page and "n/a" in page
