"""Case 1, bandwidth aggregation: its section of docs/benchmarks.md, from what `aggregation.measure` returned."""
from ..aggregation import EQUAL, IDLE_SHARE, SECONDS, STREAMS, UNEQUAL
from ..methods import METHODS, ecmp_script, recipe_script
from ..stats import median, spread
from ..targets import met


def rows_of(rows, method, streams):
    return [r for r in rows if r["method"] == method and r["streams"] == streams]


def left_idle(row):
    return min(row["shares"]) < IDLE_SHARE


def link_split(shares):
    return " / ".join(f"{s * 100:.0f}" for s in shares)


def pct(values):
    low, mid, high = spread(values)
    return f"{low:.1f}% | {mid:.1f}% | {high:.1f}%"


def section(agg, runs):
    md = ["## 1. Bandwidth aggregation", ""]
    singles = agg["singles"]
    md += [f"Three uplinks shaped with tc tbf (both ways) in a lab of namespaces (tools/lab.py); a download "
           f"from the server with `iperf3 -R -P P -t {SECONDS} -O 1` (the first second, slow start, is not "
           f"counted) from the host. Each method runs in a fresh lab, and the methods take turns within each "
           f"of the {runs} runs. **100% is the practical sum**: in each run, one single-stream download "
           f"over each link alone (the host's default route moved onto that link), added up; each download "
           f"is divided by its own run's sum.", ""]
    for kind, rates in (("equal", EQUAL["rates"]), ("unequal", UNEQUAL["rates"])):
        sums = ", ".join(" + ".join(f"{s:.2f}" for s in run) + f" = **{sum(run):.2f}**" for run in singles[kind])
        md.append(f"- Practical sum, {'/'.join(map(str, rates))} Mbit/s (Mbit/s, per run): {sums}")
    md += ["", "Methods, each installed in the lab's host on a fresh lab:", "",
           "- **uplinkctl nth**: `uplinkctl apply --netns HOST` of `examples/lab.yaml` (with weights 3, 2, 1 "
           "for the unequal links).",
           "- **uplinkctl random**: the same config with `balance: random`.",
           "- **iptables recipe**: the seed's hand-written recipe (seed 000), OUTPUT only: "
           "`CONNMARK --restore-mark`, `-m mark ! --mark 0 -j ACCEPT`, `MARK --set-mark 10`, "
           "`statistic --mode nth` rules setting 11 and 12, `CONNMARK --save-mark`; "
           "`ip rule fwmark 10/11/12 table 110/111/112 prio 31000`, a default route per table, "
           "MASQUERADE per uplink. The seed does not set rp_filter; the harness adds loose mode "
           "(`rp_filter=2`) on the uplinks, as on a distribution with strict mode the replies arriving on "
           "the second and third uplink would be dropped (the lab's namespaces start at 0, so here it "
           "changes nothing). For 3:2:1 the same with `--every 6`: three rules for the slots "
           "1, 3 and 5 (marks 11, 11, 12), so that of every six new connections three keep mark 10, two take "
           "11 and one 12, in the order 1 2 1 2 1 3.",
           "- **kernel ECMP**: `ip route replace default nexthop via 198.18.1.1 dev up1 weight 1 nexthop …` "
           "(weights 3, 2, 1 for the unequal links) with `net.ipv4.fib_multipath_hash_policy=1` (the "
           "5-tuple hash) in the host, plus MASQUERADE per uplink with iptables: a local connection picks "
           "its source address before the hash with its real source port picks the next hop, so without "
           "masquerading the server's answer would come back by another link. rp_filter=2 on the uplinks "
           "as above.", "",
           "The exact commands of the two hand-made methods are at the end of this file.", ""]
    md += table(agg["equal"], "Three links of 20 Mbit/s", STREAMS, runs)
    md += table(agg["unequal"], "Links of 30, 20 and 10 Mbit/s, weights 3:2:1", (UNEQUAL["streams"],), runs)
    md += findings(agg, runs)
    return md


def table(rows, title, streams, runs):
    md = [f"### {title}", "",
          "| P | method | min | median | max | median Mbit/s | runs with an idle link | link split in the worst run "
          "(% of bytes) |",
          "|---|---|---|---|---|---|---|---|"]
    for p in streams:
        for method in METHODS:
            mine = rows_of(rows, method, p)
            worst = min(mine, key=lambda r: r["percent"])
            idle = sum(1 for r in mine if left_idle(r))
            md.append(f"| {p} | {method} | {pct([r['percent'] for r in mine])} | "
                      f"{median(r['goodput'] for r in mine):.2f} | {idle} of {len(mine)} | "
                      f"{link_split(worst['shares'])} |")
    md += ["", f"% of the practical sum; min, median and max over {runs} runs. An idle link carried less than "
           f"{IDLE_SHARE * 100:.0f}% of the download's bytes (for P = 1 two links are always idle).", ""]
    return md


def findings(agg, runs):
    equal, unequal = agg["equal"], agg["unequal"]

    def percents(method, p, rows=equal):
        return [r["percent"] for r in rows_of(rows, method, p)]

    nth3 = percents("uplinkctl nth", 3)
    md = ["### What it shows", "",
          f"- **Target: uplinkctl nth reaches 100% of the practical sum (within 2%) at P = 3 in every run: "
          f"{met(min(nth3) >= 98)}**; at P = 3 its runs gave {', '.join(f'{v:.1f}%' for v in nth3)}."]
    for method in METHODS[1:]:
        values = percents(method, 3)
        md.append(f"- {method} at P = 3: min {min(values):.1f}%, median {median(values):.1f}%, "
                  f"max {max(values):.1f}%. uplinkctl nth ÷ {method}: "
                  f"{median(nth3) / median(values):.2f}× in the median, "
                  f"{min(nth3) / min(values):.2f}× in the worst run.")
    if min(percents("iptables recipe", 3)) >= 98:
        md.append("- The seed's iptables recipe is an nth cycle too, and it aggregates as well as uplinkctl "
                  "nth here: in bandwidth uplinkctl is not ahead of it. What uplinkctl adds is elsewhere "
                  "(one config instead of hand-kept rules, weights, forwarded traffic, diff, flush, status).")
    example = next((r for r in rows_of(equal, "uplinkctl nth", 3) if r["conns"]), None)
    if example:
        md.append(f"- **iperf3's control connection.** iperf3 opens one control connection before its data "
                  f"streams, and it takes an nth slot too: in run {example['run']}, the P = 3 download "
                  f"opened {sum(example['conns'])} new connections, {example['conns']} per uplink by "
                  f"uplinkctl's counters, yet the bytes split {link_split(example['shares'])}. The control "
                  f"connection only shifts which uplink the first data stream takes; any 3 consecutive "
                  f"slots still cover the 3 uplinks, so the data streams get one each. The same holds for "
                  f"every P that is a multiple of 3 (P = 6, 12: two and four streams per link). With P = 1 "
                  f"the single stream can use one link only (about 33%).")

    def idle_downloads(method):
        return sum(1 for p in STREAMS[1:] for r in rows_of(equal, method, p) if left_idle(r))

    total = len(STREAMS[1:]) * runs
    md.append(f"- Downloads with P ≥ 3 that left a link idle: kernel ECMP {idle_downloads('kernel ECMP')} of "
              f"{total}, uplinkctl nth {idle_downloads('uplinkctl nth')} of {total}. The 5-tuple hash can put "
              f"two streams on one link; the nth cycle cannot.")
    p = UNEQUAL["streams"]
    parts = []
    for method in METHODS:
        values = percents(method, p, unequal)
        parts.append(f"{method} min {min(values):.1f}% / median {median(values):.1f}%")
    md.append(f"- Unequal links, P = {p}: " + "; ".join(parts) + ".")
    weighted = next((r for r in rows_of(unequal, "uplinkctl nth", p) if r["conns"]), None)
    if weighted:
        md.append(f"- With weights 3:2:1 the cycle is up1 up2 up1 up2 up1 up3. The control connection takes "
                  f"one slot, and the {p} data streams the next {p}: a whole cycle, so {p // 2}, {p // 3} and "
                  f"{p // 6} streams, in proportion to the links' speeds (new connections per uplink, control "
                  f"included: {weighted['conns']}; bytes {link_split(weighted['shares'])}).")
    md.append("")
    return md


def appendix():
    """The hand-made methods' exact commands, which section 1 points to."""
    md = ["## The hand-made methods, as run", ""]
    for title, script in (("iptables recipe, 3 × 20 Mbit/s", recipe_script(EQUAL["weights"])),
                          ("iptables recipe, 3:2:1", recipe_script(UNEQUAL["weights"])),
                          ("kernel ECMP, 3 × 20 Mbit/s", ecmp_script(EQUAL["weights"])),
                          ("kernel ECMP, 3:2:1", ecmp_script(UNEQUAL["weights"]))):
        md += [f"{title} (in the host namespace, `sh -e`):", "", "```sh", script.rstrip(), "```", ""]
    return md
