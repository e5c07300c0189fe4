"""Server-rendered charts: horizontal bar charts as inline SVG, with their numbers as a table.

Why SVG from the server: a chart is a picture of a few numbers the page already has, so it
needs no JavaScript library, no build step and no second request; it prints, it works with
scripts off, and it is drawn at the size of the page on a phone as on a desk.

Accessibility: the ``<svg>`` is an image (``role="img"``) named by its ``<title>`` and
described by its ``<desc>`` (what it shows, and the largest value); every bar has its own
``<title>`` (label and value) for a pointer's tooltip; and the same numbers follow in a real
``<table>`` (in a ``<details>`` the reader opens), which is what a screen reader or a
keyboard user reads. Colour is never the only carrier: each bar is labelled with its value.

Pure: values in, :class:`markupsafe.Markup` out, every text escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from markupsafe import Markup, escape

__all__ = ["Series", "bar_chart"]

Number = int | Decimal

#: layout, in SVG user units: about the width of a chart card on a desk (a third of the page) and
#: on a phone, so the text keeps its size; the SVG scales to the width it is given
_WIDTH = 340
_LABEL_H = 20
_BAR_H = 14
_BAR_GAP = 4
_ROW_GAP = 14
_VALUE_W = 100
_PAD = 4
_MAX_LABEL = 48


@dataclass(frozen=True)
class Series:
    """One measure drawn for every category: its name (the legend), a tone (a CSS class suffix:
    ``primary``, ``secondary``, ``warn``, ``bad``), each category's value (None: nothing to
    draw, e.g. no answer yet) and each value as the reader should see it (``3 h 20 min``)."""

    name: str
    tone: str
    values: tuple[Number | None, ...]
    texts: tuple[str, ...]


#: fills used when the page's stylesheet is not there (print, a feed reader); the CSS overrides them
_FILLS = {"primary": "#1f5f99", "secondary": "#8fb3d9", "warn": "#b7791f", "bad": "#b42318"}


def _short(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[:_MAX_LABEL - 1] + "…"


def bar_chart(*, chart_id: str, title: str, desc: str, categories: Sequence[str], series: Sequence[Series],
              scale_max: Number | None = None, value_heading: str = "Value",
              category_heading: str = "Step") -> Markup:
    """A ``<figure>``: the chart (one group of bars per category, one bar per series) and its
    data table. ``scale_max`` fixes the full width (100 for a percentage); by default it is the
    largest value. ``chart_id`` must be unique on the page (it names the title and description)."""
    if any(len(s.values) != len(categories) or len(s.texts) != len(categories) for s in series):
        raise ValueError("every series needs a value and a text for each category")
    values = [v for s in series for v in s.values if v is not None]
    top = Decimal(scale_max if scale_max is not None else max(values, default=0))
    track = _WIDTH - _VALUE_W
    row_h = _LABEL_H + len(series) * (_BAR_H + _BAR_GAP) + _ROW_GAP
    legend_h = 24 if len(series) > 1 else 0
    height = legend_h + len(categories) * row_h + _PAD
    cid = escape(chart_id)
    parts = [f'<svg class="chart" viewBox="0 0 {_WIDTH} {height}" role="img" '
             f'aria-labelledby="{cid}-title {cid}-desc" preserveAspectRatio="xMinYMin meet">',
             f'<title id="{cid}-title">{escape(title)}</title>',
             f'<desc id="{cid}-desc">{escape(desc)}</desc>']
    if legend_h:
        x = 0
        for s in series:
            parts.append(f'<rect class="chart-bar chart-{escape(s.tone)}" x="{x}" y="4" width="12" height="12" '
                         f'fill="{_FILLS.get(s.tone, _FILLS["primary"])}"/>')
            parts.append(f'<text class="chart-legend" x="{x + 18}" y="15">{escape(s.name)}</text>')
            x += 18 + 7 * len(s.name) + 18
    for i, label in enumerate(categories):
        y = legend_h + i * row_h
        parts.append(f'<g class="chart-row"><text class="chart-label" x="0" y="{y + 14}">'
                     f'{escape(_short(label))}</text>')
        for k, s in enumerate(series):
            value, text = s.values[i], s.texts[i]
            by = y + _LABEL_H + k * (_BAR_H + _BAR_GAP)
            width = 0 if value is None or top <= 0 else max(2, int(Decimal(track) * Decimal(value) / top))
            if value is not None and Decimal(value) == 0:
                width = 0
            parts.append(f'<rect class="chart-track" x="0" y="{by}" width="{track}" height="{_BAR_H}" '
                         f'fill="#eef2f6"/>')
            parts.append(f'<rect class="chart-bar chart-{escape(s.tone)}" x="0" y="{by}" width="{width}" '
                         f'height="{_BAR_H}" fill="{_FILLS.get(s.tone, _FILLS["primary"])}">'
                         f'<title>{escape(label)}, {escape(s.name)}: {escape(text)}</title></rect>')
            parts.append(f'<text class="chart-value" x="{track + 8}" y="{by + _BAR_H - 2}">{escape(text)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup(f'<figure class="chart-figure" aria-labelledby="{cid}-caption">'
                  f'<figcaption id="{cid}-caption" class="chart-caption">{escape(title)}</figcaption>'
                  + "".join(parts) + _table(chart_id, title, categories, series, value_heading, category_heading)
                  + "</figure>")


def _table(chart_id: str, title: str, categories: Sequence[str], series: Sequence[Series],
           value_heading: str, category_heading: str) -> str:
    """The chart's numbers as a table: the accessible, copyable form of the same data."""
    heads = "".join(f'<th scope="col" class="num">{escape(s.name if len(series) > 1 else value_heading)}</th>'
                    for s in series)
    rows = "".join(
        f'<tr><th scope="row">{escape(label)}</th>'
        + "".join(f'<td class="num">{escape(s.texts[i])}</td>' for s in series) + "</tr>"
        for i, label in enumerate(categories))
    return (f'<details class="chart-data"><summary>Show the numbers</summary>'
            f'<table class="table" id="{escape(chart_id)}-table"><caption class="visually-hidden">'
            f'{escape(title)}</caption><thead><tr><th scope="col">{escape(category_heading)}</th>{heads}</tr></thead>'
            f"<tbody>{rows}</tbody></table></details>")
