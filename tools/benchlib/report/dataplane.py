"""Case 3, data-plane cost: its section of docs/benchmarks.md, from what `dataplane.measure` returned."""
import functools

from ..dataplane import PLANE_ARMS, PLANE_ROUNDS, per_gb
from ..stats import quiet, ratio_interval, spread, variation
from ..targets import judged, targets_line

# The target: uplinkctl's ruleset costs at most 5% more CPU a gigabyte than none (the old
# throughput target, at least 95% of none's, said the same of a CPU-bound path).
COST_LIMIT = 1.05
THROUGHPUT_LIMIT = 0.95
MEASURES = ("path", "cpu_kernel", "throughput")


def series(result, arm, measure):
    """Every round's figure: CPU ms a GB, or Gbit/s for the throughput."""
    if measure == "throughput":
        return [r[arm]["bytes"] * 8 / r[arm]["seconds"] / 1e9 for r in result["rounds"]]
    return [per_gb(r[arm], measure) * 1000 for r in result["rounds"]]


def estimate(measure):
    """The quietest quarter's mean: the cheapest rounds, or the fastest for the throughput."""
    return functools.partial(quiet, highest=measure == "throughput")


def interval(result, arm, measure):
    """(ratio to none, low, high), with a 95% bootstrap interval over the rounds."""
    return ratio_interval(series(result, arm, measure), series(result, "none", measure), estimate(measure))


def percent(ratio):
    value, low, high = ratio
    return f"{100 * value:.1f}% ({100 * low:.1f}–{100 * high:.1f}%)"


def row(result, arm):
    cells = []
    for measure in MEASURES:
        values = series(result, arm, measure)
        low, mid, high = spread(values)
        unit, digits = (" Gbit/s", 2) if measure == "throughput" else (" ms", 0)
        cells.append(f"**{estimate(measure)(values):.{digits}f}**{unit} ({low:.{digits}f} / {mid:.{digits}f} / "
                     f"{high:.{digits}f})")
        cells.append(percent(interval(result, arm, measure)) if arm != "none" else "100%")
    return f"| {arm} | " + " | ".join(cells) + " |"


def section(result):
    cpu = result["cpu"]
    gib = result["bytes"] / 2 ** 30
    md = ["## 3. Data-plane cost", "",
          f"Labs without shaping; {PLANE_ROUNDS} rounds, each a download of {gib:.0f} GiB over one TCP stream from the "
          f"server to the host (`iperf3 -R -n {result['bytes']} -A {cpu},{cpu}`, both ends at `nice -n -20`: they, "
          f"and with them the whole path through the namespaces, run on CPU {cpu}) through each of three labs in a "
          "rotating order: **none** (no ruleset ever installed, so no conntrack in the host either), **uplinkctl** "
          "(`examples/lab.yaml` applied: conntrack, the marks, the ip rules and masquerading are all in the path) "
          "and, for comparison, the seed's **iptables recipe** (section 1).", "",
          "What a ruleset adds is CPU work per packet, so the measure is the CPU time it takes to move a gigabyte "
          "(10⁹ bytes received), not the throughput, which on this shared machine moves with whatever else runs:",
          "",
          "- **path** (the target is judged on this one): the CPU time of both iperf3 processes, each started for "
          "the one download, as the kernel gives it for a reaped child (the scheduler's exact runtime, in µs; the "
          "packets' way through the namespaces, softirqs included, runs in their system calls, since this kernel "
          "does not account irq time apart), and of the ksoftirqd threads (their schedstat). Other processes' time "
          "does not count.",
          f"- **CPU {cpu}'s kernel time**: system + irq + softirq of that CPU from /proc/stat over the download, a "
          "second witness; it also counts the kernel time of anything else that ran there meanwhile.",
          "- **throughput**: the download's goodput, the measure this case used before, for comparison.", "",
          "Other load on the machine only ever adds to a round's CPU time (caches and the CPU shared) and takes "
          "from its throughput, so each ruleset's figure is the mean of its quietest quarter of the rounds (the "
          "cheapest, or the fastest), shown with the min / median / max of all of them; each ratio to none comes "
          "with a 95% bootstrap confidence interval (rounds resampled, each round's three downloads kept "
          "together). A target is **met** when the whole interval is on its good side, **NOT met** when the whole "
          "of it is on the other, and **cannot tell** when the interval spans the limit.", "",
          f"| ruleset | path, CPU a GB | ÷ none (95% CI) | CPU {cpu}'s kernel time a GB | ÷ none (95% CI) "
          "| throughput | ÷ none (95% CI) |", "|---|---|---|---|---|---|---|"]
    md += [row(result, arm) for arm in PLANE_ARMS]
    ours = interval(result, "uplinkctl", "path")
    throughput = interval(result, "uplinkctl", "throughput")
    recipe = interval(result, "iptables recipe", "path")
    md += ["", targets_line([
        (f"uplinkctl's ruleset costs at most {100 * (COST_LIMIT - 1):.0f}% more CPU a GB than none "
         f"({percent(ours)})", judged(ours[1:], COST_LIMIT, higher_is_better=False)),
        (f"for comparison, the old measure: throughput at least {100 * THROUGHPUT_LIMIT:.0f}% of none's "
         f"({percent(throughput)})", judged(throughput[1:], THROUGHPUT_LIMIT, higher_is_better=True))]),
        "",
        f"The seed's recipe, which needs conntrack and masquerading just the same, costs {percent(recipe)} of none's "
        "CPU a GB. Round-to-round variation (standard deviation ÷ mean) of the path's CPU a GB: "
        + ", ".join(f"{arm} {100 * variation(series(result, arm, 'path')):.1f}%" for arm in PLANE_ARMS)
        + "; of the throughput: "
        + ", ".join(f"{arm} {100 * variation(series(result, arm, 'throughput')):.1f}%" for arm in PLANE_ARMS)
        + ". Every round's path CPU a GB (ms): "
        + "; ".join(f"{arm} " + ", ".join(f"{v:.0f}" for v in series(result, arm, "path")) for arm in PLANE_ARMS)
        + ".", ""]
    return md
