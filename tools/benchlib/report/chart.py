"""Case 5, docs/aggregation.svg: case 1 as grouped bars (median) with min–max whiskers, as % of
the practical sum, with a line at 100%."""
from ..aggregation import STREAMS, UNEQUAL
from ..methods import METHODS
from ..stats import spread
from .aggregation import rows_of

COLORS = {"uplinkctl nth": "#1f77b4", "uplinkctl random": "#7fb2e5",
          "iptables recipe": "#ff7f0e", "kernel ECMP": "#2ca02c"}


def chart_groups(agg):
    """Case 1's result as [(label, {method: [percent per run]})], the unequal links last."""
    groups = [(f"P = {p}\n3 × 20 Mbit/s", agg["equal"], p) for p in STREAMS]
    p = UNEQUAL["streams"]
    groups.append((f"P = {p}\n30/20/10 Mbit/s, 3:2:1", agg["unequal"], p))
    return [(label, {m: [r["percent"] for r in rows_of(rows, m, p)] for m in METHODS})
            for label, rows, p in groups]


def aggregation_svg(groups):
    """groups: [(label, {method: [percent per run]})]."""
    width, height = 860, 400
    left, right, top, bottom = 64, 20, 78, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = max(120, 10 * -(-max(max(v) for _, g in groups for v in g.values()) // 10))

    def y(value):
        return top + plot_h * (1 - value / top_value)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="24" font-size="15" font-weight="bold">Download goodput, % of the practical sum '
           f'(bar: median of {len(next(iter(groups[0][1].values())))} runs; whisker: min–max)</text>']
    for value in range(0, int(top_value) + 1, 20):
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{left - 8}" y="{y(value) + 4:.1f}" text-anchor="end">{value}%</text>')
    group_w = plot_w / len(groups)
    bar_w = group_w * 0.8 / len(METHODS)
    for g, (label, values) in enumerate(groups):
        x0 = left + g * group_w + group_w * 0.1
        for m, method in enumerate(METHODS):
            low, mid, high = spread(values[method])
            x = x0 + m * bar_w
            cx = x + bar_w / 2
            out.append(f'<rect x="{x + 1:.1f}" y="{y(mid):.1f}" width="{bar_w - 2:.1f}" height="{y(0) - y(mid):.1f}" '
                       f'fill="{COLORS[method]}"><title>{method}, {label.replace(chr(10), ", ")}: median {mid:.1f}%, '
                       f'min {low:.1f}%, max {high:.1f}%</title></rect>')
            out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(low):.1f}" y2="{y(high):.1f}" stroke="black"/>')
            for v in (low, high):
                out.append(f'<line x1="{cx - 4:.1f}" x2="{cx + 4:.1f}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                           'stroke="black"/>')
        for i, text in enumerate(label.split("\n")):
            out.append(f'<text x="{left + (g + 0.5) * group_w:.1f}" y="{top + plot_h + 18 + 15 * i}" '
                       f'text-anchor="middle">{text}</text>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(100):.1f}" y2="{y(100):.1f}" '
               f'stroke="#d62728" stroke-width="1.5" stroke-dasharray="6 4"/>')
    # The unequal links' group stands apart.
    x = left + (len(groups) - 1) * group_w
    out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - 8}" stroke="#999" stroke-dasharray="3 3"/>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{y(0):.1f}" stroke="black"/>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="black"/>')
    for m, method in enumerate(METHODS):
        x = left + m * 150
        out.append(f'<rect x="{x}" y="40" width="14" height="14" fill="{COLORS[method]}"/>')
        out.append(f'<text x="{x + 20}" y="52">{method}</text>')
    x = left + len(METHODS) * 150
    out.append(f'<line x1="{x}" x2="{x + 22}" y1="47" y2="47" stroke="#d62728" stroke-width="1.5" '
               'stroke-dasharray="6 4"/>')
    out.append(f'<text x="{x + 28}" y="52">100% = practical sum</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def section():
    return ["## 5. Chart", "",
            "`docs/aggregation.svg` (above): case 1's medians as bars, min–max as whiskers, 100% = the "
            "practical sum of the same run.", ""]
