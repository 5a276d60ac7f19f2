"""Figures for the evidence report as inline SVG: SIP ladders, waveforms, distribution bars.

SVG keeps the HTML self-contained and prints sharply into the PDF; no plotting
library is needed for three kinds of simple drawing. Every text is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np

from harness.errors import AudioError

_FONT = 'font-family="Noto Sans CJK SC, sans-serif"'


@dataclass(frozen=True)
class Arrow:
    t: float  # seconds into the run
    src: int  # column index
    dst: int
    label: str


def ladder_svg(columns: list[str], arrows: list[Arrow], width: int = 760, row: int = 18) -> str:
    """A SIP ladder: one lifeline per column, one labelled arrow per message, time down the left."""
    if not arrows:
        return ""
    left, top = 70, 34
    gap = (width - left - 20) / max(1, len(columns) - 1)
    x = [left + i * gap for i in range(len(columns))]
    height = top + row * len(arrows) + 12
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="ladder" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" {_FONT} font-size="10">')]
    for xi, name in zip(x, columns, strict=True):
        out.append(f'<text x="{xi:.0f}" y="14" text-anchor="middle" font-weight="bold">{escape(name)}</text>')
        out.append(f'<line x1="{xi:.0f}" y1="20" x2="{xi:.0f}" y2="{height - 4}" '
                   'stroke="#888" stroke-dasharray="3,3"/>')
    for i, a in enumerate(arrows):
        y = top + i * row
        x1, x2 = x[a.src], x[a.dst]
        tip = -6 if x2 > x1 else 6
        colour = "#b00" if a.label[:1] in "456" else "#06c" if a.label[:1].isdigit() else "#000"
        out.append(f'<text x="4" y="{y + 3}" fill="#555">{a.t:+.3f}s</text>')
        out.append(f'<line x1="{x1:.0f}" y1="{y}" x2="{x2:.0f}" y2="{y}" stroke="{colour}"/>')
        out.append(f'<path d="M{x2:.0f},{y} l{tip},-3 v6 z" fill="{colour}"/>')
        out.append(f'<text x="{(x1 + x2) / 2:.0f}" y="{y - 3}" text-anchor="middle" fill="{colour}">'
                   f'{escape(a.label)}</text>')
    out.append("</svg>")
    return "".join(out)


def waveform_svg(wav: Path, start_s: float, end_s: float, highlight: tuple[float, float] | None = None,
                 width: int = 720, height: int = 90) -> str:
    """The envelope of ``wav`` between two times, the matched stretch shaded, seconds marked."""
    from harness.audio.wav import read_wav

    try:
        samples, rate = read_wav(wav)
    except (AudioError, OSError):
        return ""
    lo, hi = max(0, int(start_s * rate)), min(samples.size, int(end_s * rate))
    if hi - lo < width:
        return ""
    cols = np.array_split(samples[lo:hi], width)
    top = np.array([c.max() for c in cols])
    bottom = np.array([c.min() for c in cols])
    mid, half = height / 2, height / 2 - 4
    pts = [f"{i},{mid - top[i] * half:.1f}" for i in range(width)]
    pts += [f"{i},{mid - bottom[i] * half:.1f}" for i in range(width - 1, -1, -1)]
    span = (hi - lo) / rate
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="wave" viewBox="0 0 {width} {height + 14}" '
            f'width="{width}" height="{height + 14}" {_FONT} font-size="9">')]
    if highlight is not None:
        a = (highlight[0] - start_s) / span * width
        b = (highlight[1] - start_s) / span * width
        out.append(f'<rect x="{max(0.0, a):.0f}" y="0" width="{max(1.0, min(width, b) - max(0.0, a)):.0f}" '
                   f'height="{height}" fill="#d8f0d8"/>')
    out.append(f'<polygon points="{" ".join(pts)}" fill="#246" stroke="none"/>')
    step = 1.0 if span <= 12 else 5.0
    t = np.ceil(start_s / step) * step
    while t <= start_s + span:
        xt = (t - start_s) / span * width
        out.append(f'<line x1="{xt:.0f}" y1="{height}" x2="{xt:.0f}" y2="{height + 3}" stroke="#555"/>'
                   f'<text x="{xt:.0f}" y="{height + 12}" text-anchor="middle">{t:g}s</text>')
        t += step
    out.append("</svg>")
    return "".join(out)


def bars_svg(counts: dict[str, int], width: int = 360, bar: int = 18) -> str:
    """Calls per agent as horizontal bars."""
    if not counts:
        return ""
    most = max(1, *counts.values())
    height = bar * len(counts) + 6
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" {_FONT} font-size="11">')]
    for i, (name, n) in enumerate(counts.items()):
        y = i * bar + 3
        w = (width - 140) * n / most
        out.append(f'<text x="0" y="{y + 12}">{escape(name)}</text>'
                   f'<rect x="90" y="{y}" width="{w:.0f}" height="{bar - 5}" fill="#4a7"/>'
                   f'<text x="{95 + w:.0f}" y="{y + 12}">{n}</text>')
    out.append("</svg>")
    return "".join(out)


def seats_svg(rows: list[dict[str, object]], together: list[float] | None, width: int = 720,
              row: int = 18) -> str:
    """The seat calls on one timeline: queued (grey) then talking to an agent (green), one
    row a seat, the stretch when every seat talked shaded across them all."""
    def at(value: object) -> float | None:
        return float(value) if isinstance(value, (int, float)) else None

    ends = [at(r.get("ended_s")) for r in rows] + [at(r.get("agent_answered_s")) for r in rows]
    span = max([t for t in ends if t is not None] + [1.0]) * 1.05
    left, height = 150, row * len(rows) + 20

    def x(t: float) -> float:
        return left + (width - left - 10) * t / span

    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="seats" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" {_FONT} font-size="10">')]
    if together and at(together[0]) is not None:
        a, b = at(together[0]) or 0.0, at(together[1]) if together[1] is not None else span
        out.append(f'<rect x="{x(a):.0f}" y="0" width="{max(1.0, x(b or span) - x(a)):.0f}" '
                   f'height="{row * len(rows)}" fill="#d8f0d8"/>')
    for i, r in enumerate(rows):
        y, dialled = i * row + 3, at(r.get("dialled_s")) or 0.0
        talk, end = at(r.get("agent_answered_s")), at(r.get("ended_s")) or span
        label = f"{r.get('call')} {r.get('caller')} → {r.get('agent') or '—'}"
        out.append(f'<text x="0" y="{y + 11}">{escape(label)}</text>'
                   f'<rect x="{x(dialled):.0f}" y="{y + 4}" width="{max(1.0, x(talk or end) - x(dialled)):.0f}" '
                   f'height="5" fill="#aaa"/>')
        if talk is not None:
            out.append(f'<rect x="{x(talk):.0f}" y="{y}" width="{max(1.0, x(end) - x(talk)):.0f}" '
                       f'height="{row - 5}" fill="#4a7"/>')
    out.append(f'<text x="{left}" y="{height - 4}" fill="#555">0 s</text>'
               f'<text x="{width - 10}" y="{height - 4}" text-anchor="end" fill="#555">{span:.1f} s</text></svg>')
    return "".join(out)


PALETTE = ("#2a6fb0", "#d0642c", "#3a9a4a", "#9b59b6", "#c0392b", "#7f8c8d")


def lines_svg(series: dict[str, list[tuple[float, float]]], unit: str, width: int = 720,
              height: int = 160) -> str:
    """Lines over time (seconds from the start): one colour a series, a legend line each above the
    plot (``height`` is the plot's), the peak on the axis."""
    points = [p for s in series.values() for p in s]
    if not points:
        return ""
    left, right, bottom = 56, 10, 24
    top = 14 * len(series) + 10  # a legend line a series
    t_end = max(1.0, max(t for t, _ in points))
    peak = max(1e-9, max(v for _, v in points))
    height += top
    w, h = width - left - right, height - top - bottom

    def xy(t: float, v: float) -> str:
        return f"{left + w * t / t_end:.1f},{top + h * (1 - v / peak):.1f}"

    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="lines" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" {_FONT} font-size="10">'),
           f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#999"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#999"/>',
           f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{peak:.3g} {escape(unit)}</text>',
           f'<text x="{left - 4}" y="{top + h}" text-anchor="end">0</text>',
           f'<text x="{left + w}" y="{height - 6}" text-anchor="end">{t_end:.0f} s</text>']
    for i, (name, pts) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        if pts:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                       f'points="{" ".join(xy(t, v) for t, v in pts)}"/>')
        out.append(f'<text x="{left + 6}" y="{12 + 14 * i}" fill="{colour}">{escape(name)}</text>')
    out.append("</svg>")
    return "".join(out)
