"""Case 7, the route check: its section of docs/benchmarks.md, from what `routecheck.measure` returned."""
from ..dataplane import PLANE_CPU
from ..routecheck import AMPLIFY, ARMS, FLOWS, ROUNDS, SOURCES
from ..stats import median, spread


def added(series, arm):
    """Microseconds an arm adds to a new connection over no check, from the medians of the rates."""
    return 1e6 * (1 / median(series[arm]) - 1 / median(series[ARMS[0]]))


def per_check(series):
    """Nanoseconds of one check: the amplified arm's added time over its AMPLIFY + 1 checks."""
    return 1000 * added(series, ARMS[2]) / (AMPLIFY + 1)


def section(result):
    md = ["## 7. The route check per new connection", "",
          "A new connection is balanced only when its route, without uplinkctl, leaves by an uplink "
          "(README, \"Living with other policy routing\"). The host's own connections have been routed "
          "when they reach the output hook, so the check is a set lookup of the interface the kernel chose "
          "(`oifname @uplink-interfaces`); a forwarded connection is asked before its routing decision, by a "
          "route lookup of its own (`fib daddr . mark oifname @uplink-route-interfaces`). Only a connection's first "
          "packet is asked; later packets find their uplink (or that they are left alone) in the conntrack "
          "mark, and do not pay it. Three labs with a LAN client, `examples/lab.yaml` applied in each:", "",
          f"- **{ARMS[0]}**: the check taken out by hand (`nft replace rule`: the check's rule becomes a plain "
          "`goto balance-v4`, and `oifname \"lo\" return` goes), so every new connection goes to the balancer "
          "unasked, as before the check existed.",
          f"- **{ARMS[1]}**: as uplinkctl installs it.",
          f"- **{ARMS[2]}**: {AMPLIFY} more copies of the check in front of it, each a match with no verdict: "
          f"one check costs less than the run-to-run noise of a whole new connection through the lab, so its "
          f"cost is read from {AMPLIFY + 1} of them, divided by {AMPLIFY + 1}.", "",
          f"Each round, {FLOWS:,} UDP datagrams to the server from one socket, each to its own port, so that "
          f"each is a new connection, balanced, masqueraded and routed by its uplink: from the LAN client "
          f"(**forwarded**, through the prerouting hook) and from the host (**local**, through the output hook). "
          f"The sender is pinned to CPU {PLANE_CPU} and timed in CPU time, as in section 6; the host's conntrack "
          f"table is emptied before each round, and a round counts only if the server received every datagram. "
          f"{ROUNDS} rounds, the arms in a rotating order within each.", "",
          f"| new connections | arm | min | median | max | median ÷ {ARMS[0]} | added per new connection |",
          "|---|---|---|---|---|---|---|"]
    for source, series in result.items():
        for arm, values in series.items():
            low, mid, high = (v / 1000 for v in spread(values))
            extra = "" if arm == ARMS[0] else f"{added(series, arm):+.2f} µs"
            md.append(f"| {source} | {arm} | {low:.1f} k/s | {mid:.1f} k/s | {high:.1f} k/s | "
                      f"{100 * median(values) / median(series[ARMS[0]]):.1f}% | {extra} |")
    forwarded, local = (result[source] for source in SOURCES)
    md += ["", f"**One check costs {per_check(forwarded):.0f} ns for a forwarded connection (a route lookup) and "
           f"{per_check(local):.0f} ns for a local one (an interface-name lookup)**, once per connection: "
           f"{100 * per_check(forwarded) / (1e9 / median(forwarded[ARMS[0]])):.1f}% and "
           f"{100 * per_check(local) / (1e9 / median(local[ARMS[0]])):.1f}% of what a whole new connection costs "
           f"the lab here ({1e6 / median(forwarded[ARMS[0]]):.2f} and {1e6 / median(local[ARMS[0]]):.2f} µs). "
           f"The direct comparison, {ARMS[1]} against {ARMS[0]}, gives {added(forwarded, ARMS[1]):+.2f} and "
           f"{added(local, ARMS[1]):+.2f} µs: "
           + ("within the run-to-run spread of the rates above, which is why the amplified arm is there."
              if any(min(series[ARMS[1]]) <= max(series[ARMS[0]]) for series in (forwarded, local))
              else "the runs of the two arms do not overlap."),
           "", "Every run (k/s): " + "; ".join(f"{source} {arm} " + ", ".join(f"{v / 1000:.1f}" for v in values)
                                               for source, series in result.items() for arm, values in series.items())
           + ".", ""]
    return md
