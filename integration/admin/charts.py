"""Bar charts as inline SVG, rendered on the server: no JavaScript library, no CDN."""

from __future__ import annotations

from html import escape

from markupsafe import Markup


def bars(rows: list[tuple[str, float]], width: int = 560, height: int = 180) -> Markup:
    """A labelled vertical bar chart of (label, value) rows, scaled to the largest value."""
    if not rows:
        return Markup('<p class="muted">–</p>')
    top = max(max(value for _, value in rows), 1)
    slot = width / len(rows)
    bar = max(4.0, slot * 0.7)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height + 34}" role="img" '
             f'preserveAspectRatio="xMidYMid meet">']
    for i, (label, value) in enumerate(rows):
        h = (value / top) * height
        x = i * slot + (slot - bar) / 2
        parts.append(
            f'<g><title>{escape(str(label))}: {value:,.0f}</title>'
            f'<rect x="{x:.1f}" y="{height - h:.1f}" width="{bar:.1f}" height="{h:.1f}" rx="3"/>'
            f'<text x="{x + bar / 2:.1f}" y="{height + 14}" text-anchor="middle">'
            f'{escape(str(label))[-7:]}</text>'
            f'<text class="value" x="{x + bar / 2:.1f}" y="{max(12, height - h - 4):.1f}" '
            f'text-anchor="middle">{value:,.0f}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
