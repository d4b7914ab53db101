"""docs/failover.svg: case 8's first trial of `uplinkctl run` for each event, as what each uplink
carried (Mbit/s, every 100 ms), with the failure and the repair marked."""
from ..failover import EVENT_NAMES

COLORS = ["#1f77b4", "#d62728", "#2ca02c"]


def failover_svg(charts):
    width, panel_h, left, right, top = 860, 210, 64, 20, 50
    height = top + len(charts) * (panel_h + 40) + 10
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'font-family="sans-serif" font-size="12">', f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="24" font-size="15" font-weight="bold">uplinkctl run: what each uplink carried, '
           f'every 100 ms, around uplink 2\'s failure and repair</text>']
    for index, (kind, chart) in enumerate(sorted(charts.items())):
        samples, times = chart["samples"], chart["times"]
        if not samples:
            continue
        y0 = top + index * (panel_h + 40) + 20
        start, end = samples[0][0], samples[-1][0]
        top_value = max(25, max(max(rates) for _, rates in samples))

        def x(t):
            return left + (width - left - right) * (t - start) / max(end - start, 1e-9)

        def y(value):
            return y0 + panel_h * (1 - value / top_value)

        out.append(f'<text x="{left}" y="{y0 - 6}" font-weight="bold">{EVENT_NAMES[kind]}</text>')
        for value in range(0, int(top_value) + 1, 5):
            out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
                       'stroke="#eee"/>')
            out.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end">{value}</text>')
        for label, t in (("failure", times["event"]), ("repair", times["repair"])):
            out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{y0}" y2="{y0 + panel_h}" '
                       'stroke="#555" stroke-dasharray="4 3"/>')
            out.append(f'<text x="{x(t) + 4:.1f}" y="{y0 + 12}">{label}</text>')
        for uplink in range(len(samples[0][1])):
            points = " ".join(f"{x(t):.1f},{y(rates[uplink]):.1f}" for t, rates in samples)
            out.append(f'<polyline points="{points}" fill="none" stroke="{COLORS[uplink % 3]}" stroke-width="2"/>')
            out.append(f'<text x="{width - right - 60}" y="{y0 + 14 + 14 * uplink}" '
                       f'fill="{COLORS[uplink % 3]}">up{uplink + 1}</text>')
        out.append(f'<text x="{left - 50}" y="{y0 + panel_h / 2}" '
                   f'transform="rotate(-90 {left - 50} {y0 + panel_h / 2})" '
                   f'text-anchor="middle">Mbit/s</text>')
        out.append(f'<text x="{left}" y="{y0 + panel_h + 16}">0 s</text>')
        out.append(f'<text x="{width - right}" y="{y0 + panel_h + 16}" text-anchor="end">{end - start:.1f} s</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
