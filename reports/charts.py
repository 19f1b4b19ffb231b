"""Small inline SVG charts, built in Python so the report needs no JavaScript to draw.

Every label passes through :func:`markupsafe.escape` here, which is why the
finished SVG may be returned as :class:`~markupsafe.Markup`: industry names and
other inputs come from users' files and harvested pages. Colours live in the
stylesheet (classes), not in attributes, so they print and theme consistently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

VERDICT_ORDER = ("active", "inactive", "unknown", "not-checked")
VERDICT_LABELS = {"active": "Active", "inactive": "Inactive", "unknown": "Unknown",
                  "not-checked": "Not checked"}


def _num(value: float) -> str:
    """Coordinates with at most one decimal: small files, stable golden output."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


class Svg:
    """An SVG document under construction; every text is escaped on the way in."""

    def __init__(self, width: float, height: float, title: str, desc: str, ident: str) -> None:
        self.width, self.height = width, height
        self.ident = ident
        self.parts: list[str] = [
            f'<svg class="chart" viewBox="0 0 {_num(width)} {_num(height)}" role="img" '
            f'aria-labelledby="{ident}-t {ident}-d" preserveAspectRatio="xMinYMin meet">',
            f'<title id="{ident}-t">{escape(title)}</title>',
            f'<desc id="{ident}-d">{escape(desc)}</desc>',
        ]

    def rect(self, x: float, y: float, w: float, h: float, cls: str, tip: str = "") -> None:
        inner = f"<title>{escape(tip)}</title>" if tip else ""
        self.parts.append(
            f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(w, 0))}" height="{_num(max(h, 0))}" '
            f'class="{escape(cls)}">{inner}</rect>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, cls: str) -> None:
        self.parts.append(
            f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" class="{escape(cls)}"/>'
        )

    def circle(self, x: float, y: float, r: float, cls: str, tip: str = "") -> None:
        inner = f"<title>{escape(tip)}</title>" if tip else ""
        self.parts.append(
            f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(r)}" class="{escape(cls)}">{inner}</circle>'
        )

    def text(self, x: float, y: float, text: str, cls: str = "", anchor: str = "start") -> None:
        self.parts.append(
            f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" class="{escape(cls)}">'
            f"{escape(text)}</text>"
        )

    def markup(self) -> Markup:
        return Markup("".join([*self.parts, "</svg>"]))  # every input was escaped on the way in


def _clip(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def score_histogram(totals: Sequence[float], ident: str = "hist") -> Markup:
    """Companies per band of ten points of the total score."""
    bins = [0] * 10
    for t in totals:
        bins[min(int(t // 10), 9)] += 1
    w, h, left, bottom, top = 420.0, 190.0, 28.0, 30.0, 16.0
    plot_h = h - bottom - top
    peak = max(bins) or 1
    bar_w = (w - left - 8) / 10
    svg = Svg(w, h, "Score distribution",
              f"Number of companies per band of ten points of the total score; {len(totals)} companies scored.",
              ident)
    for tick in range(0, peak + 1, max(1, math.ceil(peak / 4))):
        y = top + plot_h - plot_h * tick / peak
        svg.line(left, y, w - 8, y, "grid")
        svg.text(left - 6, y + 4, str(tick), "axis", "end")
    for i, n in enumerate(bins):
        x = left + i * bar_w
        bh = plot_h * n / peak
        band = "band-low" if i < 4 else "band-mid" if i < 7 else "band-high"
        svg.rect(x + 2, top + plot_h - bh, bar_w - 4, bh, f"bar {band}",
                 f"{i * 10}-{i * 10 + 10}: {n} companies")
        if n:
            svg.text(x + bar_w / 2, top + plot_h - bh - 4, str(n), "value", "middle")
        if i % 2 == 0:
            svg.text(x, h - bottom + 14, str(i * 10), "axis", "middle")
    svg.text(w - 8, h - bottom + 14, "100", "axis", "end")
    svg.line(left, top + plot_h, w - 8, top + plot_h, "baseline")
    svg.text(w - 8, h - 2, "total score", "axis", "end")
    return svg.markup()


def verdict_bars(counts: Mapping[str, Mapping[str, int]], labels: Mapping[str, str],
                 ident: str = "verdicts") -> Markup:
    """Stacked horizontal bars: verdicts per contact-point kind, lengths to scale."""
    kinds = [k for k in counts if sum(counts[k].values())]
    row_h, gap, left, right, top = 20.0, 9.0, 84.0, 30.0, 8.0
    w = 420.0
    h = top + max(len(kinds), 1) * (row_h + gap) + 26
    peak = max((sum(counts[k].values()) for k in kinds), default=1) or 1
    scale = (w - left - right) / peak
    svg = Svg(w, h, "Verdicts by kind",
              "Contact points of each kind by verdict: active, inactive, unknown, not checked.", ident)
    for i, kind in enumerate(kinds):
        y = top + i * (row_h + gap)
        svg.text(left - 8, y + row_h / 2 + 4, labels.get(kind, kind), "label", "end")
        x = left
        for verdict in VERDICT_ORDER:
            n = counts[kind].get(verdict, 0)
            if not n:
                continue
            svg.rect(x, y, n * scale, row_h, f"seg v-{verdict}",
                     f"{labels.get(kind, kind)}: {n} {VERDICT_LABELS[verdict].lower()}")
            if n * scale >= 16:
                svg.text(x + n * scale / 2, y + row_h / 2 + 4, str(n), f"seg-label v-{verdict}-text", "middle")
            x += n * scale
        svg.text(x + 6, y + row_h / 2 + 4, str(sum(counts[kind].values())), "value")
    if not kinds:
        svg.text(w / 2, top + 16, "No contact points were found.", "axis", "middle")
    ly = h - 10
    lx = 8.0
    for verdict in VERDICT_ORDER:
        svg.rect(lx, ly - 9, 10, 10, f"seg v-{verdict}")
        svg.text(lx + 14, ly, VERDICT_LABELS[verdict], "axis")
        lx += 14 + 6.2 * len(VERDICT_LABELS[verdict]) + 12
    return svg.markup()


@dataclass(frozen=True)
class CoverageRow:
    """One industry: companies, and how many offer each channel."""

    industry: str
    companies: int
    offering: Mapping[str, int]


def coverage_heatmap(rows: Sequence[CoverageRow], channels: Sequence[str],
                     labels: Mapping[str, str], ident: str = "coverage") -> Markup:
    """Share of each industry's companies offering each channel, as shaded cells."""
    cell_w, cell_h, left, top = 74.0, 24.0, 190.0, 30.0
    w = left + cell_w * len(channels) + 8
    h = top + cell_h * max(len(rows), 1) + 8
    svg = Svg(w, h, "Channel coverage per industry",
              "For each industry, the share of its companies that publish each channel.", ident)
    for j, kind in enumerate(channels):
        svg.text(left + j * cell_w + cell_w / 2, top - 12, _clip(labels.get(kind, kind), 13), "axis", "middle")
    for i, row in enumerate(rows):
        y = top + i * cell_h
        svg.text(left - 8, y + cell_h / 2 + 4, _clip(f"{row.industry} ({row.companies})", 30), "label", "end")
        for j, kind in enumerate(channels):
            n = row.offering.get(kind, 0)
            share = n / row.companies if row.companies else 0.0
            level = 0 if n == 0 else min(4, 1 + int(share * 4 - 1e-9))
            x = left + j * cell_w
            svg.rect(x + 1, y + 1, cell_w - 2, cell_h - 2, f"cell c-{level}",
                     f"{row.industry}: {n} of {row.companies} offer {labels.get(kind, kind).lower()}")
            svg.text(x + cell_w / 2, y + cell_h / 2 + 4, f"{share:.0%}", f"cell-label c-{level}-text", "middle")
    if not rows:
        svg.text(w / 2, top + 16, "No companies were scored.", "axis", "middle")
    return svg.markup()


@dataclass(frozen=True)
class ReplyRow:
    """One benchmark group: its expected range and the measured first replies (hours)."""

    label: str
    low: float
    high: float
    replies: Sequence[float]


def reply_times(rows: Sequence[ReplyRow], ident: str = "replies") -> Markup:
    """Benchmark ranges as bands and measured reply times as dots, on a log hour axis."""
    ticks = (0.25, 1, 2, 4, 8, 24, 72, 192)
    lo, hi = math.log(ticks[0]), math.log(ticks[-1])
    row_h, left, right, top = 26.0, 130.0, 12.0, 10.0
    w = 460.0
    h = top + row_h * max(len(rows), 1) + 30

    def x(hours: float) -> float:
        v = min(max(math.log(max(hours, ticks[0])), lo), hi)
        return left + (w - left - right) * (v - lo) / (hi - lo)

    svg = Svg(w, h, "Email reply times against the industry benchmark",
              "For each industry benchmark, the expected range of hours to a first human reply "
              "(band) and the measured first replies (dots), on a logarithmic hour scale.", ident)
    bottom = top + row_h * max(len(rows), 1)
    for t in ticks:
        svg.line(x(t), top, x(t), bottom, "grid")
        svg.text(x(t), bottom + 14, f"{t:g} h" if t < 24 else f"{t / 24:g} d", "axis", "middle")
    for i, row in enumerate(rows):
        y = top + i * row_h
        svg.text(left - 8, y + row_h / 2 + 4, _clip(row.label, 20), "label", "end")
        svg.rect(x(row.low), y + 5, x(row.high) - x(row.low), row_h - 10, "bench",
                 f"{row.label}: expected {row.low:g}-{row.high:g} h")
        for r in row.replies:
            cls = "dot ok" if r <= row.high else "dot late"
            svg.circle(x(r), y + row_h / 2, 4.5, cls, f"{row.label}: first human reply after {r:.1f} h")
    return svg.markup()
