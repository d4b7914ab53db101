"""docs/benchmarks.md (and, with case 1, docs/aggregation.svg; with case 8, docs/failover.svg): the
machine, then each case's section in the order of the cases, from the figures of this run."""
import os

from . import (accuracy, aggregation, chart, dataplane, failover, failoverchart, latency, mptcp, policies,
               routecheck, services)


def header(info, elapsed):
    return ["# uplinkctl benchmarks", "",
            f"Measured {info['date']} by `make bench` (tools/bench.py) in {elapsed / 60:.1f} minutes. "
            f"To rerun, as root in a checkout: `make bench` "
            f"(it rewrites this file, aggregation.svg and failover.svg). "
            f"Every figure below was measured in that run; the comparisons are ratios within the run, since "
            f"absolute figures move with the machine.", "",
            "## Machine", "",
            f"- {info['cores']} cores ({info['cpu']}), kernel {info['kernel']}",
            f"- uplinkctl {info['commit']} (`{info['binary']}`)",
            f"- {info['iperf3']}; {info['iptables']}; "
            f"{info['nft']}" + (f"; {info['haproxy']}" if info.get("haproxy") else ""),
            "- Everything ran in network namespaces `ulk-bench-PID-*` that the harness made and removed; "
            "the machine's own network was not touched.", ""]


def write_report(out_dir, info, results, runs, elapsed):
    """results: {case number: what that case's measure() returned}, for the cases that ran."""
    md = header(info, elapsed)
    if 1 in results:
        md += aggregation.section(results[1], runs)
        md += ["![Case 1: goodput as % of the practical sum](aggregation.svg)", ""]
    if 2 in results:
        md += latency.section(results[2], info["binary"])
    if 3 in results:
        md += dataplane.section(results[3])
    if 4 in results:
        md += accuracy.section(results[4])
    if 6 in results:
        md += policies.section(results[6])
    if 7 in results:
        md += routecheck.section(results[7])
    if 8 in results:
        md += failover.section(results[8])
    if 9 in results:
        md += services.section(results[9])
    if 10 in results:
        md += mptcp.section(results[10])
    if 1 in results:
        md += chart.section() + aggregation.appendix()
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "benchmarks.md"), "w") as f:
        f.write("\n".join(md))
    if 1 in results:
        with open(os.path.join(out_dir, "aggregation.svg"), "w") as f:
            f.write(chart.aggregation_svg(chart.chart_groups(results[1])))
    if 8 in results:
        with open(os.path.join(out_dir, "failover.svg"), "w") as f:
            f.write(failoverchart.failover_svg(results[8]["charts"]))
