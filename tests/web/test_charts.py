"""The server-rendered bar charts (web.pages.charts): an SVG image named and described for
assistive technology, bars in proportion, every text escaped, and the same numbers as a table."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from web.pages.charts import Series, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def _figure(markup: str) -> ET.Element:
    # the inline SVG has no namespace declaration in HTML; give it one to parse it as XML
    return ET.fromstring(markup.replace('<svg class="chart"', '<svg xmlns="http://www.w3.org/2000/svg" class="chart"'))


def test_bars_are_proportional_and_the_image_is_named_and_described() -> None:
    chart = bar_chart(chart_id="times", title="Time to respond", desc="Median and 90th percentile per step.",
                      categories=["Controller Review", "CFO Review"],
                      series=[Series("Median", "primary", (3600, 1800), ("1 h", "30 min")),
                              Series("90th percentile", "secondary", (7200, None), ("2 h", "no answers yet"))])
    fig = _figure(str(chart))
    svg = fig.find(f"{SVG}svg")
    assert svg is not None and svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "times-title times-desc"
    assert svg.find(f"{SVG}title").text == "Time to respond"  # type: ignore[union-attr]
    assert svg.find(f"{SVG}desc").text == "Median and 90th percentile per step."  # type: ignore[union-attr]
    bars = [r for r in svg.iter(f"{SVG}rect") if "chart-bar" in (r.get("class") or "") and r.find(f"{SVG}title") is not None]
    widths = {r.find(f"{SVG}title").text: int(r.get("width") or 0) for r in bars}  # type: ignore[union-attr]
    assert widths["Controller Review, 90th percentile: 2 h"] == 2 * widths["Controller Review, Median: 1 h"]
    assert widths["CFO Review, 90th percentile: no answers yet"] == 0
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "30 min" in texts and "Median" in texts  # values are written, and a legend names the series
    rows = [[c.text for c in tr] for tr in fig.iter("tr")]
    assert rows == [["Step", "Median", "90th percentile"], ["Controller Review", "1 h", "2 h"],
                    ["CFO Review", "30 min", "no answers yet"]]


def test_a_fixed_scale_and_a_single_series() -> None:
    chart = bar_chart(chart_id="late", title="Overdue rate", desc="Share answered late.", categories=["A", "B"],
                      series=[Series("Overdue", "warn", (Decimal("50"), Decimal("0")), ("50%", "0%"))],
                      scale_max=100, value_heading="Overdue")
    fig = _figure(str(chart))
    bars = [r for r in fig.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert [int(r.get("width") or 0) for r in bars] == [120, 0]  # half of the 240-unit track
    assert [[c.text for c in tr] for tr in fig.iter("tr")][0] == ["Step", "Overdue"]


def test_every_text_is_escaped() -> None:
    chart = str(bar_chart(chart_id="x", title="<b>t</b>", desc="d & e", categories=['<script>alert(1)</script>'],
                          series=[Series("s", "primary", (1,), ("<i>1</i>",))]))
    assert "<script>" not in chart and "<i>" not in chart and "<b>" not in chart
    assert "&lt;script&gt;" in chart and "d &amp; e" in chart


def test_every_series_has_a_value_per_category() -> None:
    with pytest.raises(ValueError):
        bar_chart(chart_id="x", title="t", desc="d", categories=["A", "B"],
                  series=[Series("s", "primary", (1,), ("1",))])
