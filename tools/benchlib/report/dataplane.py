"""Case 3, data-plane cost: its section of docs/benchmarks.md, from what `dataplane.measure` returned."""
from ..dataplane import PLANE_ARMS, PLANE_ROUNDS, per_gb
from ..stats import ratio_interval, spread, variation
from ..targets import judged, targets_line

# The target: uplinkctl's ruleset costs at most 5% more CPU a gigabyte than none (the old
# throughput target, at least 95% of none's, said the same of a CPU-bound path).
COST_LIMIT = 1.05
THROUGHPUT_LIMIT = 0.95
MEASURES = ("path", "cpu_kernel", "throughput")


def series(result, arm, measure):
    if measure == "throughput":
        return [r[arm]["bytes"] * 8 / r[arm]["seconds"] / 1e9 for r in result["rounds"]]
    return [per_gb(r[arm], measure) * 1000 for r in result["rounds"]]


def interval(result, arm, measure):
    """(ratio of means to none, low, high), 95% bootstrap over the rounds."""
    return ratio_interval(series(result, arm, measure), series(result, "none", measure))


def percent(ratio):
    value, low, high = ratio
    return f"{100 * value:.1f}% ({100 * low:.1f}–{100 * high:.1f}%)"


def section(result):
    cpu = result["cpu"]
    gib = result["bytes"] / 2 ** 30
    md = ["## 3. Data-plane cost", "",
          f"Labs without shaping; {PLANE_ROUNDS} rounds, each a download of {gib:.0f} GiB over one TCP stream from the "
          f"server to the host (`iperf3 -R -n {result['bytes']} -A {cpu},{cpu}`: both ends, and with them the whole "
          f"path through the namespaces, on CPU {cpu}) through each of three labs in a rotating order: **none** (no "
          "ruleset ever installed, so no conntrack in the host either), **uplinkctl** (`examples/lab.yaml` applied: "
          "conntrack, the marks, the ip rules and masquerading are all in the path) and, for comparison, the seed's "
          "**iptables recipe** (section 1).", "",
          "What a ruleset adds is CPU work per packet, so the measure is the CPU time it takes to move a gigabyte "
          "(10⁹ bytes received), not the throughput, which on this shared machine moves with whatever else runs:",
          "",
          "- **the path's processes** (the target is judged on this one): the user + system time of both iperf3 "
          "processes (the packets' way through the namespaces, softirqs included, runs in their system calls on "
          "this kernel's tick accounting) and of the ksoftirqd threads. Other processes' time does not count.",
          f"- **CPU {cpu}'s kernel time**: system + irq + softirq of that CPU from /proc/stat over the download, a "
          "second witness; it also counts the kernel time of anything else that ran there meanwhile.",
          "- **throughput**: the download's goodput, the measure this case used before, for comparison.", "",
          "Each figure for a ruleset is the ratio of its mean to none's with a 95% bootstrap confidence interval "
          "(rounds resampled, each round's three downloads kept together). A target is **met** when the whole "
          "interval is on its good side, **NOT met** when the whole of it is on the other, and **cannot tell** when "
          "the interval spans the limit.", "",
          "| ruleset | CPU a GB, path: min / median / max | ÷ none (95% CI) | CPU a GB, CPU " + str(cpu)
          + "'s kernel time: median | ÷ none (95% CI) | throughput: median | ÷ none (95% CI) |",
          "|---|---|---|---|---|---|---|"]
    for arm in PLANE_ARMS:
        low, mid, high = spread(series(result, arm, "path"))
        kernel = spread(series(result, arm, "cpu_kernel"))[1]
        speed = spread(series(result, arm, "throughput"))[1]
        ratios = [percent(interval(result, arm, m)) if arm != "none" else "100%" for m in MEASURES]
        md.append(f"| {arm} | {low:.0f} / {mid:.0f} / {high:.0f} ms | {ratios[0]} | {kernel:.0f} ms | {ratios[1]} | "
                  f"{speed:.2f} Gbit/s | {ratios[2]} |")
    ours = interval(result, "uplinkctl", "path")
    throughput = interval(result, "uplinkctl", "throughput")
    recipe = interval(result, "iptables recipe", "path")
    variations = {arm: variation(series(result, arm, "path")) for arm in PLANE_ARMS}
    md += ["", targets_line([
        (f"uplinkctl's ruleset costs at most {100 * (COST_LIMIT - 1):.0f}% more CPU a GB than none "
         f"({percent(ours)})", judged(ours[1:], COST_LIMIT, higher_is_better=False)),
        (f"for comparison, the old measure: throughput at least {100 * THROUGHPUT_LIMIT:.0f}% of none's "
         f"({percent(throughput)})", judged(throughput[1:], THROUGHPUT_LIMIT, higher_is_better=True))]),
        "",
        f"The seed's recipe, which needs conntrack and masquerading just the same, costs {percent(recipe)} of none's "
        "CPU a GB. Round-to-round variation of the path's CPU a GB (standard deviation ÷ mean): "
        + ", ".join(f"{arm} {100 * v:.1f}%" for arm, v in variations.items()) + "; of the throughput: "
        + ", ".join(f"{arm} {100 * variation(series(result, arm, 'throughput')):.1f}%" for arm in PLANE_ARMS)
        + ". Every round's CPU a GB, path (ms): "
        + "; ".join(f"{arm} " + ", ".join(f"{v:.0f}" for v in series(result, arm, "path")) for arm in PLANE_ARMS)
        + ".", ""]
    return md

