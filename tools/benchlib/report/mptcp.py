"""Case 10, MPTCP: its section of docs/benchmarks.md, from what `mptcp.measure` returned."""
from ..aggregation import EQUAL, UNEQUAL
from ..mptcp import CONGESTION, FAIL_AT, FAIL_SECONDS, GOAL, OMIT, RUNS, SECONDS
from ..stats import spread
from ..targets import targets_line


def section(result):
    md = ["## 10. One connection over every uplink: Multipath TCP", ""]
    md += [f"Three shaped uplinks as in case 1; `uplinkctl apply` of a config with `mptcp: true` (an endpoint "
           f"per uplink address with `subflow`, limits 2/2); the server's path manager takes joins "
           f"(`ip mptcp limits set subflows 4 add_addr_accepted 4`). One download over one connection "
           f"(a Python client with IPPROTO_MPTCP, or plain TCP) for {SECONDS + OMIT} s, the first second "
           f"not counted. 100% is the practical sum of the same run: each link alone (the host's default "
           f"route moved onto it), one plain TCP download with the same client. The end hosts use "
           f"{CONGESTION.capitalize()} (`net.ipv4.tcp_congestion_control` in the host's and the server's "
           f"namespaces); the row \"MPTCP, BBR\" is the same download with this machine's default, BBR, "
           f"which overruns the links' shallow tbf queues. {RUNS} runs per kind of links; each run in a "
           f"fresh lab.", ""]
    md += ["| links | connection | min | median | max | link split (median run) |", "|---|---|---|---|---|---|"]
    verdicts = []
    for kind in ("equal", "unequal"):
        rates = "/".join(map(str, (EQUAL if kind == "equal" else UNEQUAL)["rates"]))
        for what in ("TCP", "MPTCP", "MPTCP, BBR", "MPTCP, first subflow balanced"):
            rows = [r for r in result["rows"] if r["kind"] == kind and r["what"] == what]
            low, mid, high = spread([r["percent"] for r in rows])
            middle = sorted(rows, key=lambda r: r["percent"])[len(rows) // 2]
            split = " / ".join(f"{s * 100:.0f}" for s in middle["shares"])
            md.append(f"| {rates} | {what} | {low:.1f}% | **{mid:.1f}%** | {high:.1f}% | {split} |")
            if what == "MPTCP":
                verdicts.append((f"one MPTCP connection at least {GOAL:.0f}% of the practical sum in every run, "
                                 f"{rates} (lowest {low:.1f}%)", low >= GOAL))
    md += ["", targets_line(verdicts), ""]
    failure = result["failure"]
    md += [f"An uplink that fails: one MPTCP download for {FAIL_SECONDS} s under `uplinkctl run` (health "
           f"checks at their defaults); gateway 2 stops forwarding at {FAIL_AT} s. Goodput per second (Mbit/s): "
           + ", ".join(f"{m:.1f}" for m in failure["series"]) + ".",
           f"`run` logged: `{failure['down'].split(': ', 1)[-1]}`; the endpoint of 198.18.2.2 "
           + ("was withdrawn (no new subflow goes there)." if failure["withdrawn"] else "was NOT withdrawn."), ""]
    return md
